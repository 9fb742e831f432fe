"""Retiming the film from the render rate (24) to the film rate (24, 25 or 30).

The film keeps its running time: each output frame shows the rendered frame on screen at
that moment (25 fps shows one rendered frame twice a second, 30 fps one in four)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def retimed_length(frames: int, fps_in: int, fps_out: int) -> int:
    """Output frames that last as long as `frames` at `fps_in`."""
    return round(Fraction(frames * fps_out, fps_in))


def source_frames(frames: int, fps_in: int, fps_out: int) -> np.ndarray:
    """For each output frame, the index of the input frame it shows."""
    n = retimed_length(frames, fps_in, fps_out)
    mid = (np.arange(n) * 2 + 1) * fps_in // (2 * fps_out)  # input frame under each output frame's middle
    return np.minimum(mid, frames - 1)
