"""The words: the speech of each line transcribed (an ASR model the user names) against the line.

Chinese lines are scored by characters (CER), others by words (WER), punctuation and case
ignored. Without a model the check does not run: it never passes silently. Value: the worst
line's error rate.
"""

from __future__ import annotations

import re

from nava_director.checks.check import ALL_ENGINES, Check, TakeContext
from nava_director.checks.media import SPEECH_RATE
from nava_director.checks.result import CheckResult, judged, not_run

NAME = "words"
_HAN = re.compile(r"[\u3400-\u9fff]")
_MARKS = re.compile(r"[^\w\s]|_")


def units(text: str, by_characters: bool) -> list[str]:
    """What an error rate counts: characters (no spaces or marks), else lower-case words."""
    clean = _MARKS.sub(" ", text.lower())
    return [c for c in clean if not c.isspace()] if by_characters else clean.split()


def error_rate(reference: list[str], heard: list[str]) -> float:
    """Levenshtein distance over the reference's length (1.0 for nothing heard)."""
    if not reference:
        return 0.0 if not heard else 1.0
    previous = list(range(len(heard) + 1))
    for i, r in enumerate(reference, start=1):
        current = [i]
        for j, h in enumerate(heard, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / len(reference)


def measure(ctx: TakeContext) -> CheckResult:
    if ctx.models.asr_model is None:
        return not_run(NAME, "no speech-recognition model was named (--asr-model PATH)")
    if not ctx.script.lines:
        return not_run(NAME, "the script has no dialogue in this shot")
    asr, audio = ctx.models.asr, ctx.media.speech_audio
    rows, failing, worst, worst_limit = [], [], 0.0, ctx.thresholds.wer_max
    for i, line in enumerate(ctx.script.lines, start=1):
        chinese = bool(_HAN.search(line.text))
        limit = ctx.thresholds.cer_max if chinese else ctx.thresholds.wer_max
        piece = audio[round(line.start * SPEECH_RATE) : round(line.end * SPEECH_RATE)]
        transcript = asr.transcribe(piece, "zh" if chinese else "en")
        rate = error_rate(units(line.text, chinese), units(transcript, chinese))
        ok = rate <= limit
        rows.append({"line": i, "text": line.text, "heard": transcript, "value": round(rate, 3),
                     "measure": "cer" if chinese else "wer", "status": "pass" if ok else "fail"})  # fmt: skip
        if not ok:
            failing.append(f"line {i} ({line.text}) was heard as {transcript!r}: "
                           f"{'CER' if chinese else 'WER'} {rate:.0%} > {limit:.0%}")  # fmt: skip
        if rate >= worst:
            worst, worst_limit = rate, limit
    return judged(NAME, not failing, worst, worst_limit, f"error rate ({asr.name})",
                  f"every line's words are heard (worst error rate {worst:.0%})", "; ".join(failing), rows)  # fmt: skip


CHECK = Check(NAME, "character (Chinese) / word error rate of each line's speech, with --asr-model", ALL_ENGINES,
              measure)  # fmt: skip
