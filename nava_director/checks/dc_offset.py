"""DC offset: a channel whose samples sit off zero. Value: the largest channel mean's magnitude."""

from __future__ import annotations

import numpy as np

from nava_director.checks.check import ALL_ENGINES, Check, TakeContext
from nava_director.checks.result import CheckResult, judged, not_run

NAME = "dc-offset"


def measure(ctx: TakeContext) -> CheckResult:
    audio = ctx.media.audio
    if not audio.size:
        return not_run(NAME, "the clip has no sound")
    offset = float(np.abs(audio.mean(axis=1)).max())
    limit = ctx.thresholds.dc_max
    return judged(NAME, offset <= limit, offset, limit, "full scale", f"no DC offset ({offset:.4f})",
                  f"the sound sits {offset:.3f} off zero (DC offset)")  # fmt: skip


CHECK = Check(NAME, "mean sample value of each channel", ALL_ENGINES, measure)
