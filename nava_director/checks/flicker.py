"""Abrupt flicker: a frame far brighter or darker than both its neighbours, which agree.

Value: the largest such jump in mean luma (0-255).
"""

from __future__ import annotations

import numpy as np

from nava_director.checks.check import GENERATED, Check, TakeContext
from nava_director.checks.media import luma
from nava_director.checks.result import CheckResult, judged, not_run

NAME = "flicker"


def spikes(levels: np.ndarray) -> np.ndarray:
    """Per inner frame: how far it jumps from both neighbours and back (0 when it does not reverse)."""
    before, after = levels[1:-1] - levels[:-2], levels[2:] - levels[1:-1]
    reverses = np.sign(before) == -np.sign(after)
    return np.where(reverses, np.minimum(np.abs(before), np.abs(after)), 0.0)


def measure(ctx: TakeContext) -> CheckResult:
    frames = ctx.media.frames
    if len(frames) < 3:
        return not_run(NAME, "the clip has fewer than three frames")
    jumps = spikes(luma(frames).mean(axis=(1, 2)))
    worst, limit = float(jumps.max()), ctx.thresholds.flicker_jump
    count = int((jumps > limit).sum())
    return judged(NAME, worst <= limit, worst, limit, "luma levels", f"no flicker (largest jump {worst:.1f})",
                  f"{count} frame(s) flicker, up to {worst:.0f} luma levels from both neighbours")  # fmt: skip


CHECK = Check(NAME, "frames that jump in brightness from both neighbours and back", GENERATED, measure,
              "the animatic's picture is a drawn card")  # fmt: skip
