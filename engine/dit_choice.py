"""Which DiT file a render uses when a weights folder holds more than one.

The release ships the DiT twice: ``NAVA.safetensors`` (bf16, 12.6 GB of weights; older
releases ``NAVA.ckpt``) and ``NAVA_fp8.safetensors`` (its block linears in fp8, 6.9 GB).
``auto`` takes the only one present, else bf16 when the GPU has at least
:data:`BF16_MIN_GPU_BYTES` (room for the bf16 DiT and several guidance passes per call, see
:mod:`engine.gpu_memory`) or when there is no GPU (the CPU computes in bf16 either way), and
fp8 below that. A pure function of what is present, what was asked and the GPU's memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import WeightsError

DIT_FILES = {"bf16": ("NAVA.safetensors", "NAVA.ckpt"), "fp8": ("NAVA_fp8.safetensors",)}
CHOICES = ("auto", "bf16", "fp8")
BF16_MIN_GPU_BYTES = 40 * 2**30


@dataclass(frozen=True)
class DitChoice:
    format: str  # "bf16" or "fp8"
    path: Path
    why: str


def choose_dit(present: Mapping[str, Path], wanted: str = "auto", gpu_memory: int | None = None) -> DitChoice:
    """``present``: format -> file; ``wanted``: auto | bf16 | fp8; ``gpu_memory``: bytes (None: no GPU)."""
    if wanted not in CHOICES:
        raise WeightsError(f"unknown DiT choice {wanted!r}", hint=f"use one of {', '.join(CHOICES)}")
    if not present:
        raise WeightsError(f"no DiT file ({' or '.join(n for names in DIT_FILES.values() for n in names)})")
    if wanted != "auto":
        if wanted not in present:
            other = next(iter(present.values()))
            fetch = "--fp8" if wanted == "fp8" else "--bf16"
            raise WeightsError(
                f"--dit {wanted}: no {' or '.join(DIT_FILES[wanted])} next to {other.name} in {other.parent}",
                hint=f"download it (nava-director weights download {fetch} {other.parent}) or use --dit auto",
            )
        return DitChoice(wanted, present[wanted], f"--dit {wanted}")
    if len(present) == 1:
        fmt, path = next(iter(present.items()))
        return DitChoice(fmt, path, f"the only DiT file in {path.parent}")
    if gpu_memory is None:
        return DitChoice("bf16", present["bf16"], "no GPU: the CPU computes in bf16 either way")
    gib = gpu_memory / 2**30
    if gpu_memory >= BF16_MIN_GPU_BYTES:
        return DitChoice("bf16", present["bf16"], f"the GPU has {gib:.0f} GiB (bf16 from {BF16_MIN_GPU_BYTES >> 30} GiB)")
    return DitChoice("fp8", present["fp8"], f"the GPU has {gib:.0f} GiB (< {BF16_MIN_GPU_BYTES >> 30} GiB: fp8)")
