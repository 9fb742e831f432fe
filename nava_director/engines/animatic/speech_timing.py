"""When the animatic voices and shows each spoken line: as the subtitles time it.

The cut's subtitles share a shot's time among its lines in proportion to their spoken
length (``cut.subtitles.spoken_length``: a CJK character or a word counts one); the
animatic uses the same slots, so card, scratch voice and subtitle agree. Inside its slot a
line's words start at once and run at a natural pace (about 5 Chinese characters or 3
English words a second: ``storyboard/rules.py``), never past 92 % of the slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nava_director.cut.subtitles import spoken_length

SECONDS_PER_CJK = 1 / 5
SECONDS_PER_WORD = 1 / 3
MIN_LINE_SECONDS = 0.3

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W_\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")


@dataclass(frozen=True)
class TimedLine:
    """A line's slot [start, end) in seconds from the shot's start; the words fill [start, speech_end)."""

    start: float
    end: float
    speech_end: float

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


def natural_seconds(text: str) -> float:
    """How long the line takes said at a natural pace."""
    natural = len(_CJK.findall(text)) * SECONDS_PER_CJK + len(_WORD.findall(text)) * SECONDS_PER_WORD
    return max(MIN_LINE_SECONDS, natural)


def time_lines(texts: list[str], seconds: float) -> list[TimedLine]:
    """Each line's slot: the shot's time shared in proportion to spoken length."""
    total = sum(spoken_length(t) for t in texts)
    out: list[TimedLine] = []
    done = 0
    for text in texts:
        start = seconds * done / total
        done += spoken_length(text)
        end = seconds * done / total
        out.append(TimedLine(start, end, start + min(natural_seconds(text), 0.92 * (end - start))))
    return out
