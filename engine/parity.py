"""Check the WanAVModel against reference numbers.

    python -m engine.parity FIXTURE.safetensors        # every mode of a parity fixture
    python -m engine.parity --params nava_6b_params.json  # the 6.3B key map and size
    torchrun --standalone --nproc_per_node=N -m engine.parity --sp N FIXTURE.safetensors
                                                       # the same, each forward split over N ranks

A parity fixture is ``X.safetensors`` (weights ``model.*``, inputs ``in.*``, fp32 outputs
``out.MODE.*``, bf16-inference outputs ``out_bf16.MODE.*``) with its json sidecar ``X.json``
(``config`` and ``modes``), as the tiny parity fixture (docs/engine.md). Each mode runs
twice: fp32 (max abs error <= 1e-4) and bf16 (relative L2 error <= 3e-2). With ``--sp``
every rank runs the sharded forward (:mod:`engine.parallel`), rank 0 prints the lines, and
the check fails unless every rank got the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from engine.config import ModelConfig
from engine.errors import EngineError
from engine.model import AVPrediction, SpeakerSlots, WanAVModel
from engine.parallel import init_distributed, sequence_parallel
from engine.weights import load_state

FP32_ATOL = 1e-4
BF16_REL_L2 = 3e-2


@dataclass(frozen=True)
class ModeCall:
    """How the reference was called in one mode (see the fixture json's ``modes``)."""

    video: bool = True
    audio: bool = True
    speaker: str | None = "real"  # "real": in.spk_embed, "null": zeros, None: no speaker
    modality_mask: bool = False
    clean_first_frame: bool = False


def parse_mode(text: str, described: dict[str, str]) -> ModeCall:
    """A mode's call from the fixture's own words for it (``modes`` in the json): the reference's
    keyword arguments as it writes them, e.g. ``spk_embed=None``, ``masking_modality=True``,
    ``vid=None``, or ``as cond_spk but first_frame_is_clean=True``."""
    base = ModeCall()
    if (match := re.match(r"as (\w+) but", text)) and match.group(1) in described:
        base = parse_mode(described[match.group(1)], described)
    if re.search(r"spk_embed=None", text):
        speaker = None
    elif re.search(r"spk_embed=zeros", text):
        speaker = "null"
    elif re.search(r"spk_embed=in\.spk_embed", text):
        speaker = "real"
    else:
        speaker = base.speaker
    flag = {name: re.search(rf"{name}=(True|False)", text) for name in ("masking_modality", "first_frame_is_clean")}
    return ModeCall(
        video=base.video and not re.search(r"\bvid=None", text),
        audio=base.audio and not re.search(r"\baudio=None", text),
        speaker=speaker,
        modality_mask=flag["masking_modality"].group(1) == "True" if flag["masking_modality"] else base.modality_mask,
        clean_first_frame=(
            flag["first_frame_is_clean"].group(1) == "True" if flag["first_frame_is_clean"] else base.clean_first_frame
        ),
    )


# the shared fixture's modes, as its descriptions read (tests check the parser against this)
MODES = {
    "cond_spk": ModeCall(),
    "cond_nospk": ModeCall(speaker=None),
    "cond_nullspk": ModeCall(speaker="null"),
    "mmask_spk": ModeCall(modality_mask=True),
    "i2v_spk": ModeCall(clean_first_frame=True),
    "i2v_mmask_nospk": ModeCall(speaker=None, modality_mask=True, clean_first_frame=True),
    "video_only": ModeCall(audio=False, speaker=None),
    "audio_only_spk": ModeCall(video=False),
}


class ParityFixture:
    """A parity fixture's tensors and json sidecar."""

    def __init__(self, path: str | Path, device: torch.device | str = "cpu"):
        self.path = Path(path)
        self.device = torch.device(device)
        self.meta = json.loads(self.path.with_suffix(".json").read_text())
        self.tensors = load_file(self.path)
        self.config = ModelConfig.from_dict(self.meta["config"])

    @property
    def modes(self) -> list[str]:
        return list(self.meta["modes"])

    def call(self, mode: str) -> ModeCall:
        return parse_mode(self.meta["modes"][mode], self.meta["modes"])

    def model(self, dtype: torch.dtype) -> WanAVModel:
        with torch.device("meta"):
            model = WanAVModel(self.config)
        weights = {k.removeprefix("model."): v for k, v in self.tensors.items() if k.startswith("model.")}
        return load_state(model, weights, dtype=dtype, device=self.device, source=str(self.path)).eval()

    def run(self, model: WanAVModel, mode: str) -> AVPrediction:
        call, x = self.call(mode), {k: v.to(self.device) for k, v in self.tensors.items() if k.startswith("in.")}
        video, audio, t = x["in.vid"][None], x["in.audio"][None], x["in.t"]
        speaker = None
        if call.speaker is not None:
            embedding = x["in.spk_embed"] if call.speaker == "real" else torch.zeros_like(x["in.spk_embed"])
            speaker = SpeakerSlots(embeddings=embedding[None], positions=x["in.spk_pos"])
        with torch.no_grad():
            return model(
                video if call.video else None,
                audio if call.audio else None,
                t_video=model.video_timesteps(t, video, call.clean_first_frame),
                t_audio=t,
                context=x["in.context"][None],
                speaker=speaker,
                modality_mask=call.modality_mask,
            )

    def outputs(self, prediction: AVPrediction) -> dict[str, torch.Tensor]:
        """The prediction as the fixture stores it: ``video`` [C,F,H,W], ``audio`` [L,C], fp32."""
        return {k: v[0].float().cpu() for k, v in prediction._asdict().items() if v is not None}


@dataclass
class ModeResult:
    mode: str
    max_abs: float
    rel_l2_bf16: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.note and self.max_abs <= FP32_ATOL and self.rel_l2_bf16 <= BF16_REL_L2

    def __str__(self) -> str:
        status = "ok" if self.ok else "FAIL"
        note = f" ({self.note})" if self.note else ""
        return f"{self.mode} max_abs={self.max_abs:.3e} rel_l2_bf16={self.rel_l2_bf16:.3e} {status}{note}"


def check_fixture(path: str | Path, group=None, device: torch.device | str = "cpu") -> list[ModeResult]:
    """Every mode of the fixture; with a process ``group``, each forward split over its ranks."""
    fixture = ParityFixture(path, device)
    fp32, bf16 = fixture.model(torch.float32), fixture.model(torch.bfloat16)
    results = []
    for mode in fixture.modes:
        with _split(fp32, group), _split(bf16, group):
            got32, got16 = fixture.outputs(fixture.run(fp32, mode)), fixture.outputs(fixture.run(bf16, mode))
        missing = [k for k in (*(f"out.{mode}.{k}" for k in got32), *(f"out_bf16.{mode}.{k}" for k in got16))
                   if k not in fixture.tensors]
        if missing:  # the description and the stored outputs disagree: say so rather than guess
            results.append(ModeResult(mode, float("nan"), float("nan"), note=f"no {', '.join(missing)} in the fixture"))
            continue
        want32 = {k: fixture.tensors[f"out.{mode}.{k}"] for k in got32}
        want16 = {k: fixture.tensors[f"out_bf16.{mode}.{k}"] for k in got16}
        max_abs = max(float((got32[k] - want32[k]).abs().max()) for k in got32)
        rel = max(float((got16[k] - want16[k]).norm() / want16[k].norm()) for k in got16)
        results.append(ModeResult(mode, max_abs, rel))
    return results


def _split(model: WanAVModel, group):
    return sequence_parallel(model, group) if group is not None else nullcontext()


def check_fixture_sharded(path: str | Path, sp: int) -> list[ModeResult]:
    """:func:`check_fixture` on every rank of a torchrun world of ``sp`` ranks; rank 0's results,
    each marked failed where some rank's numbers differ from rank 0's."""
    import torch.distributed as dist

    group = init_distributed()
    if dist.get_world_size() != sp:
        raise EngineError(f"--sp {sp} needs {sp} ranks, torchrun started {dist.get_world_size()}",
                          hint=f"torchrun --standalone --nproc_per_node={sp} -m engine.parity --sp {sp} FIXTURE")
    device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else "cpu"
    results = check_fixture(path, group, device)
    every_rank: list[list[ModeResult]] = [[] for _ in range(sp)]
    dist.all_gather_object(every_rank, results)
    for i, result in enumerate(results):
        differing = [rank for rank, theirs in enumerate(every_rank) if theirs[i] != result]
        if differing:
            result.note = f"ranks {differing} differ from rank 0"
    return results


def check_params(path: str | Path) -> tuple[list[str], int, int, int]:
    """(differences, keys matching, keys expected, parameters) of the nava-6.3b preset vs a params json."""
    reference = json.loads(Path(path).read_text())
    with torch.device("meta"):
        model = WanAVModel(ModelConfig.preset("nava-6.3b"))
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    theirs = reference["params"]
    problems = [f"missing {k} {theirs[k]}" for k in theirs if k not in ours]
    problems += [f"unexpected {k} {ours[k]}" for k in ours if k not in theirs]
    problems += [
        f"shape {k}: ours {ours[k]}, reference {theirs[k]}" for k in theirs if k in ours and ours[k] != theirs[k]
    ]
    count = sum(p.numel() for p in model.parameters())
    if count != reference["num_params"]:
        problems.append(f"parameter count: ours {count:,}, reference {reference['num_params']:,}")
    matching = sum(1 for k in theirs if k in ours and ours[k] == theirs[k])
    return problems, matching, len(theirs), count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.parity", description=__doc__.split("\n")[0])
    parser.add_argument("fixture", nargs="?", help="a parity fixture .safetensors (json sidecar beside it)")
    parser.add_argument("--params", help="a params json (nava_6b_params.json): check the nava-6.3b key map")
    parser.add_argument("--sp", type=int, default=1, metavar="N",
                        help="split each forward over N ranks (run under torchrun --nproc_per_node=N)")
    args = parser.parse_args(argv)
    if bool(args.fixture) == bool(args.params):
        parser.error("give a fixture or --params")
    if args.params:
        problems, matching, total, count = check_params(args.params)
        for problem in problems:
            print(problem)
        print(f"{matching}/{total} keys match, {count} parameters")
        return 1 if problems else 0
    if args.sp == 1:
        return _print_results(check_fixture(args.fixture))
    import torch.distributed as dist

    try:
        results = check_fixture_sharded(args.fixture, args.sp)
    except EngineError as error:
        print(f"error: {error.message}" + (f"\nhint: {error.hint}" if error.hint else ""), file=sys.stderr)
        return 2
    status = _print_results(results) if dist.get_rank() == 0 else int(not all(r.ok for r in results))
    dist.destroy_process_group()
    # After gloo collectives, torch 2.13 CPU sometimes aborts at interpreter exit ("terminate
    # called without an active exception", ~1 run in 7 under torchrun): the check is done, so
    # leave without running the exit-time destructors.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _print_results(results: list[ModeResult]) -> int:
    for result in results:
        print(result)
    passed = sum(r.ok for r in results)
    print(f"{passed}/{len(results)} modes within tolerance")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
