"""Solid-colour or black frames: a frame whose luma barely varies across the picture.

Value: the share of the take's frames that are a solid colour.
"""

from __future__ import annotations

from nava_director.checks.check import GENERATED, Check, TakeContext
from nava_director.checks.media import luma
from nava_director.checks.result import CheckResult, judged, not_run

NAME = "blank"
BLACK = 16  # a solid frame this dark (mean luma, 0-255) is black


def measure(ctx: TakeContext) -> CheckResult:
    frames = ctx.media.frames
    if not len(frames):
        return not_run(NAME, "the clip has no frames")
    y = luma(frames).reshape(len(frames), -1)
    solid = y.std(axis=1) < ctx.thresholds.solid_std
    share = float(solid.mean())
    black = solid & (y.mean(axis=1) < BLACK)
    kind = "black" if black.sum() * 2 > solid.sum() else "a solid colour"
    return judged(NAME, share <= ctx.thresholds.solid_max_fraction, share, ctx.thresholds.solid_max_fraction,
                  "share of frames", f"{share:.0%} of frames are a solid colour",
                  f"{share:.0%} of frames are {kind} ({int(solid.sum())} of {len(frames)})")  # fmt: skip


CHECK = Check(NAME, "share of solid-colour or black frames", GENERATED, measure,
              "the animatic's picture is a drawn card")  # fmt: skip
