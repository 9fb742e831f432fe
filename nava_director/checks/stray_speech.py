"""Speech where nobody speaks: Silero VAD over a shot the script gives no dialogue (a warning)."""

from __future__ import annotations

from nava_director.checks.check import ALL_ENGINES, Check, TakeContext
from nava_director.checks.media import SPEECH_RATE
from nava_director.checks.result import CheckResult, Status, not_run
from nava_director.checks.speech import heard
from nava_director.checks.vad import speech_seconds

NAME = "stray-speech"


def measure(ctx: TakeContext) -> CheckResult:
    if ctx.script.lines:
        return not_run(NAME, "the shot has dialogue: its lines' slots fill it")
    limit = ctx.thresholds.speech_outside_seconds
    length = len(ctx.media.speech_audio) / SPEECH_RATE
    seconds = speech_seconds(heard(ctx), ctx.thresholds.speech_probability, 0.0, length + 1)
    if seconds > limit:
        return CheckResult(NAME, Status.WARN, f"{seconds:.1f} s of speech where the script has nobody speak",
                           round(seconds, 2), limit, "s")  # fmt: skip
    return CheckResult(NAME, Status.PASS, "no speech where nobody speaks", round(seconds, 2), limit, "s")


CHECK = Check(NAME, "speech heard in a shot without dialogue (a warning)", ALL_ENGINES, measure)
