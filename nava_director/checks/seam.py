"""The seam: a continued shot's first frame against the upstream take's last frame.

Value: their mean |difference| (0-255) at the analysis size.
"""

from __future__ import annotations

import numpy as np

from nava_director.checks.check import GENERATED, Check, TakeContext
from nava_director.checks.media import scaled
from nava_director.checks.result import CheckResult, judged, not_run

NAME = "seam"


def measure(ctx: TakeContext) -> CheckResult:
    upstream = ctx.upstream_frame()
    if upstream is None:
        return not_run(NAME, "the shot does not continue another")
    frames = ctx.media.frames
    if not len(frames):
        return not_run(NAME, "the clip has no frames")
    first = frames[0]
    before = scaled(upstream, (first.shape[1], first.shape[0]))
    difference = float(np.abs(first.astype(np.int16) - before.astype(np.int16)).mean())
    limit = ctx.thresholds.seam_max_difference
    return judged(NAME, difference <= limit, difference, limit, "mean |difference|",
                  f"it starts where the upstream take ends (difference {difference:.1f})",
                  f"its first frame is {difference:.0f} levels from the upstream take's last frame: "
                  "a jump at the seam")  # fmt: skip


CHECK = Check(NAME, "a continued shot's first frame against the upstream take's last frame", GENERATED, measure,
              "the animatic draws its card over the upstream frame")  # fmt: skip
