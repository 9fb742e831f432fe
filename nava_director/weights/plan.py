"""What `plan` says about the weights: the DiT file and why, the check, each shot's GPU memory."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from nava_director.project.manifest import Manifest
from nava_director.session import Session
from nava_director.settings import choose_engine


@dataclass
class WeightsPlan:
    folder: str
    dit_file: str
    dit: str  # bf16 | fp8
    why: str
    check_ok: bool
    problems: list[str]
    offload: str
    vae_tiling: bool
    peak_gb: dict[str, float] = field(default_factory=dict)  # shot -> estimated peak GPU memory

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        check = "ok" if self.check_ok else f"{len(self.problems)} problem(s): " + "; ".join(self.problems)
        name = Path(self.dit_file).name if self.dit_file else self.folder
        return (f"weights: {name} ({self.dit}) — {self.why}; check: {check}; "
                f"offload {self.offload}, VAE tiling {'on' if self.vae_tiling else 'off'}")


def plan_weights(session: Session, manifest: Manifest, size: tuple[int, int]) -> WeightsPlan | None:
    """None unless the nava engine renders. Reads the files' headers (and asks the GPU when ``auto`` must)."""
    settings = session.settings
    if choose_engine(settings)[0] != "nava" or settings.weights is None:
        return None
    from engine.errors import EngineError
    from engine.gpu_memory import GB, Shot, estimate
    from engine.pipeline import resolve_dit, resolve_offload
    from engine.weights_check import check

    folder = settings.weights
    try:
        if settings.dit == "auto" and manifest.dit:
            choice = resolve_dit(folder, manifest.dit)
            why = "recorded at the project's first render (--dit auto)"
        else:
            choice = resolve_dit(folder, settings.dit)
            why = choice.why
        report = check(folder, dit=choice.format)
        longest = max((job.frames for job in session.plan.jobs), default=145)
        offload = resolve_offload(settings.offload, choice.format, settings.vae_tiling, size[0], size[1], longest)
    except EngineError as error:  # plan still shows the shots: the weights line says what is wrong
        problem = error.message + (f" ({error.hint})" if error.hint else "")
        return WeightsPlan(str(folder), "", "?", "no DiT file could be chosen", False, [problem], settings.offload,
                           settings.vae_tiling)  # fmt: skip
    problems = [f"{r.component}: {r.problem}" for r in report.rows if not r.ok and r.chosen]
    peaks = {
        job.shot: round(estimate(choice.format, offload, settings.vae_tiling, Shot(size[0], size[1], job.frames)).peak
                        / GB, 1)
        for job in session.plan.jobs
    }  # fmt: skip
    return WeightsPlan(str(folder), str(choice.path), choice.format, why, not problems, problems, offload,
                       settings.vae_tiling, peaks)  # fmt: skip
