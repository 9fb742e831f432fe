"""A frozen picture: consecutive frames that do not change, for a second or more.

The frame-to-frame change is median-filtered over three steps: a still picture re-coded at
a keyframe changes for one step only, and stays frozen.

Value: the longest stretch (seconds) in which the picture stands still.
"""

from __future__ import annotations

import numpy as np

from nava_director.checks.check import GENERATED, Check, TakeContext
from nava_director.checks.result import CheckResult, judged, not_run

NAME = "frozen"


def still_seconds(frames: np.ndarray, fps: float, difference: float) -> float:
    """The longest run of frames each within ``difference`` (mean |Δ|) of the one before, in seconds."""
    from scipy.ndimage import median_filter

    change = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    change = median_filter(change, size=3, mode="nearest")
    longest = run = 0
    for still in change < difference:
        run = run + 1 if still else 0
        longest = max(longest, run)
    return (longest + 1) / fps if longest else 0.0  # n still steps: n + 1 identical frames


def measure(ctx: TakeContext) -> CheckResult:
    frames, fps = ctx.media.frames, ctx.media.fps
    if len(frames) < 2:
        return not_run(NAME, "the clip has fewer than two frames")
    seconds = still_seconds(frames, fps, ctx.thresholds.frozen_difference)
    limit = min(ctx.thresholds.frozen_max_seconds, len(frames) / fps)
    return judged(NAME, seconds < limit, seconds, limit, "s", f"the picture moves (longest still {seconds:.2f} s)",
                  f"the picture is frozen for {seconds:.1f} s")  # fmt: skip


CHECK = Check(NAME, "longest stretch of unchanging picture", GENERATED, measure,
              "the animatic's static camera holds its card still by design")  # fmt: skip
