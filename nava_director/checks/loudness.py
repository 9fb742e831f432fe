"""Loudness far from the target: the take's integrated loudness (BS.1770, pyloudnorm) against the film's.

Value: the loudness in LUFS; it fails more than ``loudness_max_off`` LU from ``loudness_target``
(the cut brings every take to the target; a take far from it was made too quiet or too loud).
"""

from __future__ import annotations

import math

from nava_director.checks.check import GENERATED, Check, TakeContext
from nava_director.checks.media import SAMPLE_RATE
from nava_director.checks.result import CheckResult, judged, not_run
from nava_director.cut.loudness import integrated_loudness

NAME = "loudness"


def measure(ctx: TakeContext) -> CheckResult:
    audio = ctx.media.audio
    if audio.shape[-1] < 0.4 * SAMPLE_RATE:
        return not_run(NAME, "the clip is shorter than one 400 ms loudness block")
    lufs = integrated_loudness(audio, SAMPLE_RATE)
    target, off = ctx.thresholds.loudness_target, ctx.thresholds.loudness_max_off
    if not math.isfinite(lufs):
        return judged(NAME, False, -99.0, target, "LUFS", "", "the track is silent: no loudness to measure")
    return judged(NAME, abs(lufs - target) <= off, lufs, target, "LUFS",
                  f"{lufs:.1f} LUFS, within {off:.0f} LU of the {target:.0f} LUFS target",
                  f"{lufs:.1f} LUFS is {abs(lufs - target):.0f} LU from the {target:.0f} LUFS target")  # fmt: skip


CHECK = Check(NAME, "integrated loudness against the film's target", GENERATED, measure,
              "the animatic's level is a scratch mix's")  # fmt: skip
