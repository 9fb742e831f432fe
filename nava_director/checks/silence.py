"""Silence: a track that is (mostly) digital silence. Value: the share of 50 ms windows under ``silence_db``."""

from __future__ import annotations

import numpy as np

from nava_director.checks.check import ALL_ENGINES, Check, TakeContext
from nava_director.checks.media import SAMPLE_RATE
from nava_director.checks.result import CheckResult, judged, not_run

NAME = "silence"
WINDOW = SAMPLE_RATE // 20


def measure(ctx: TakeContext) -> CheckResult:
    audio = ctx.media.audio
    if audio.shape[-1] < WINDOW:
        return not_run(NAME, "the clip has (almost) no sound")
    n = audio.shape[-1] // WINDOW
    rms = np.sqrt((audio[:, : n * WINDOW].reshape(2, n, WINDOW) ** 2).mean(axis=(0, 2)))
    share = float((20 * np.log10(rms + 1e-12) < ctx.thresholds.silence_db).mean())
    limit = ctx.thresholds.silence_max_fraction
    return judged(NAME, share <= limit, share, limit, "share of 50 ms windows", f"{share:.0%} of the track is silent",
                  f"{share:.0%} of the track is silent (under {ctx.thresholds.silence_db:.0f} dBFS)")  # fmt: skip


CHECK = Check(NAME, "share of the track under the silence level", ALL_ENGINES, measure)
