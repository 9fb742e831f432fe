"""Clipping: samples at full scale. Value: the share of samples at or above ``clip_level``."""

from __future__ import annotations

import numpy as np

from nava_director.checks.check import ALL_ENGINES, Check, TakeContext
from nava_director.checks.result import CheckResult, judged, not_run

NAME = "clipping"


def measure(ctx: TakeContext) -> CheckResult:
    audio = ctx.media.audio
    if not audio.size:
        return not_run(NAME, "the clip has no sound")
    share = float((np.abs(audio) >= ctx.thresholds.clip_level).mean())
    limit = ctx.thresholds.clip_max_fraction
    return judged(NAME, share <= limit, share, limit, "share of samples", "no clipping",
                  f"{share:.2%} of the samples are clipped at full scale")  # fmt: skip


CHECK = Check(NAME, "share of samples at full scale", ALL_ENGINES, measure)
