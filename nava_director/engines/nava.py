"""The NAVA engine: the director's :class:`ShotRequest` through ``engine.pipeline``.

Building it is cheap (no torch, no weights read): ``id`` needs only a fingerprint of the
weight files' names, sizes and first bytes. The pipeline loads on the first render and
stays loaded for the rest of the run. Voice embeddings are cached per user (by the voice
file's hash), so casting files reuse them across storyboards.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from nava_director.clip import Clip
from nava_director.engines.base import ShotRequest
from nava_director.errors import InputError, NavaError
from nava_director.progress import Progress

ENGINE_VERSION = "nava-2"  # bump when the same weights would render differently (2: I2AV guidance, no-voice shots)


class NavaEngine:
    def __init__(self, weights: Path | None = None, dit: str = "auto", offload: str = "auto", vae_tiling: bool = False):
        """``dit``: auto | bf16 | fp8, the DiT file (``render`` passes the one recorded at the
        project's first render); ``offload``: auto | none | encoders | blocks (never changes a
        clip); ``vae_tiling``: decode in tiles (changes the clip a little: in the id)."""
        if weights is None:
            raise InputError(
                "the nava engine needs the NAVA weights folder",
                hint="pass --weights DIR or set NAVA_WEIGHTS (download them: nava-director weights download DIR)",
            )
        self.weights = Path(weights)
        self.dit, self.offload, self.vae_tiling = dit, offload, vae_tiling
        self._pipeline = None
        self._checked = False
        self._group = None  # a process group: each shot's DiT forward split over its ranks

    @cached_property
    def dit_choice(self):
        """The DiT file used (``engine.dit_choice.DitChoice``); imports torch only for ``auto``
        with both files present (it asks the GPU's memory)."""
        from engine.pipeline import resolve_dit

        with _engine_errors():
            return resolve_dit(self.weights, self.dit)

    @cached_property
    def id(self) -> str:
        """The engine version, the fingerprint of the files used (the chosen DiT file among them),
        and tiling: what changes a clip. Offload does not."""
        from engine.pipeline import weights_id

        with _engine_errors():
            fingerprint = weights_id(self.weights, dit=self.dit_choice.format)
        return f"{ENGINE_VERSION}-{fingerprint}-{self.dit_choice.format}{'-tiled' if self.vae_tiling else ''}"

    def check_weights(self) -> None:
        """The weights folder checked (headers only) once per fingerprint; a problem stops the run."""
        if self._checked:
            return
        marker = weights_check_cache() / f"{self.id}.ok"
        if not marker.is_file():
            from engine.weights_check import check

            with _engine_errors():
                report = check(self.weights, dit=self.dit_choice.format)
            problems = [f"{r.component}: {r.problem} — {r.fix}" for r in report.rows if not r.ok and r.chosen]
            if problems:
                raise WeightsUnusable(
                    f"the weights in {self.weights} cannot render:\n  " + "\n  ".join(problems),
                    hint=f"nava-director weights check {self.weights}",
                )
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(self.weights.as_posix() + "\n", encoding="utf-8")
        self._checked = True

    def render(self, request: ShotRequest, progress: Progress | None = None) -> Clip:
        from engine.pipeline import NEGATIVE_PROMPT, GenerateRequest, GuidanceScales

        self.check_weights()
        if self._pipeline is None:
            self._load(request.width, request.height, request.frames)

        with _engine_errors():
            guidance = GuidanceScales.from_mapping(request.guidance, image_conditioned=request.first_frame is not None)
        generate = GenerateRequest(
            prompt=request.caption,
            speaker_wavs=[line.voice for line in request.speech],
            width=request.width,
            height=request.height,
            frames=request.frames,
            seed=request.seed,
            steps=request.steps,
            guidance=guidance,
            first_frame=request.first_frame,
            progress=progress.step if progress else None,
            negative_prompt=request.negative_prompt or NEGATIVE_PROMPT,
        )
        with _engine_errors():
            clip = self.pipeline.generate(generate)
        return Clip(frames=clip.frames, audio=clip.audio, sample_rate=clip.sample_rate, fps=clip.fps)

    @property
    def pipeline(self):
        if self._pipeline is None:
            self._load()
        return self._pipeline

    def _load(self, width: int = 1280, height: int = 704, frames: int = 145) -> None:
        """Load the pipeline; ``auto`` offload is the least that fits this shot size (its first shot's)."""
        from engine.pipeline import NAVAPipeline, resolve_offload

        self.check_weights()
        with _engine_errors():
            fmt = self.dit_choice.format
            offload = resolve_offload(self.offload, fmt, self.vae_tiling, width, height, frames)
            self._pipeline = NAVAPipeline.from_pretrained(
                self.weights, offload=offload, dit=fmt, vae_tiling=self.vae_tiling, speaker_cache=speaker_cache()
            )
            if self._group is not None:
                self._pipeline.split_over(self._group)

    def split_over(self, group) -> None:
        """Split each shot's DiT forward over the ranks of ``group`` (``render --gpus N --sp K``).

        The pipeline loads here, so that a group size the model cannot split over (its heads)
        stops the run once, up front, not every shot."""
        self._group = group
        if self._pipeline is not None:
            with _engine_errors():
                self._pipeline.split_over(group)
        else:
            self.pipeline  # noqa: B018 (loads, then splits over the group)


class WeightsUnusable(InputError):
    """A weights folder that cannot render: it stops the run before its first shot, once."""

    stops_run = True


def weights_check_cache() -> Path:
    """``$XDG_CACHE_HOME/nava-director/weights-checks``: one marker per weights fingerprint that passed."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nava-director" / "weights-checks"


def speaker_cache() -> Path:
    """``$XDG_CACHE_HOME/nava-director/speakers`` (``~/.cache`` without it)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nava-director" / "speakers"


@contextmanager
def _engine_errors():
    """The engine's errors as the director's (same message and hint)."""
    from engine.pipeline import EngineError, WeightsError

    try:
        yield
    except WeightsError as error:  # the weights named are not complete or not NAVA's: the user's input
        raise InputError(error.message, hint=error.hint) from error
    except EngineError as error:
        raise NavaError(error.message, hint=error.hint) from error
