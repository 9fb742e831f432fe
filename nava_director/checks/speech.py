"""Speech present where the script has it: Silero VAD inside each dialogue line's slot.

A line passes when at least ``speech_min_fraction`` of its expected speaking time (its
words at a natural pace, capped by its slot) is heard as speech inside the slot. Value: the
worst line's share (1.0 = all its expected speech heard).
"""

from __future__ import annotations

from nava_director.checks.check import ALL_ENGINES, Check, TakeContext
from nava_director.checks.result import CheckResult, judged, not_run
from nava_director.checks.vad import speech_seconds

NAME = "speech"


def heard(ctx: TakeContext):
    """Silero's speech probability per 32 ms chunk of the take."""
    return ctx.speech_probabilities


def measure(ctx: TakeContext) -> CheckResult:
    lines = ctx.script.lines
    if not lines:
        return not_run(NAME, "the script has no dialogue in this shot")
    probabilities, limit = heard(ctx), ctx.thresholds.speech_min_fraction
    rows, failing = [], []
    for i, line in enumerate(lines, start=1):
        seconds = speech_seconds(probabilities, ctx.thresholds.speech_probability, line.start, line.end)
        share = min(1.0, seconds / line.speaking)
        ok = share >= limit
        rows.append({"line": i, "text": line.text, "speaker": line.speaker, "value": round(share, 3),
                     "status": "pass" if ok else "fail", "heard_seconds": round(seconds, 2)})  # fmt: skip
        if not ok:
            failing.append(f"line {i} ({line.speaker or 'unvoiced'}: {line.text}) has {seconds:.1f} s of speech "
                           f"in {line.start:.1f}-{line.end:.1f} s, {line.speaking:.1f} s expected")  # fmt: skip
    worst = min(row["value"] for row in rows)
    return judged(NAME, not failing, worst, limit, "share of expected speech",
                  f"every line is heard in its slot (least {worst:.0%} of its expected speech)",
                  "; ".join(failing), rows)  # fmt: skip


CHECK = Check(NAME, "each dialogue line is heard as speech (Silero VAD) in its subtitle slot", ALL_ENGINES, measure)
