"""When each spoken line of a shot is heard: the shot's time spread by spoken length.

Engines that do not report their own timing (the animatic) voice the lines here, and
subtitles without an engine's timing use the same slots, so card, scratch voice and
subtitle agree. Rates follow DESIGN §3: about 5 Chinese characters or 3 English words a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECONDS_PER_CJK = 1 / 5
SECONDS_PER_WORD = 1 / 3
MIN_LINE_SECONDS = 0.3
MARGIN_SECONDS = 0.2  # silence at the head and tail of a shot

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9\u00c0-\u024f']+")


@dataclass(frozen=True)
class TimedLine:
    """A line's slot [start, end) in seconds from the shot's start; the words fill [start, speech_end)."""

    start: float
    end: float
    speech_end: float

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


def syllables(text: str) -> int:
    """Spoken units: each CJK character, each Latin word or number (at least one)."""
    return max(1, len(_CJK.findall(text)) + len(_WORD.findall(text)))


def spoken_seconds(text: str) -> float:
    """How long the line takes said at a natural pace."""
    natural = len(_CJK.findall(text)) * SECONDS_PER_CJK + len(_WORD.findall(text)) * SECONDS_PER_WORD
    return max(MIN_LINE_SECONDS, natural)


def time_lines(texts: list[str], seconds: float) -> list[TimedLine]:
    """Slots proportional to spoken length over the shot; each line's words start its slot.

    A line spoken faster than its natural pace (too much dialogue for the shot) is compressed
    to 92 % of its slot, so consecutive lines never run into each other.
    """
    if not texts:
        return []
    margin = min(MARGIN_SECONDS, seconds * 0.05)
    lengths = [spoken_seconds(t) for t in texts]
    scale = (seconds - 2 * margin) / sum(lengths)
    out: list[TimedLine] = []
    start = margin
    for length in lengths:
        slot = length * scale
        out.append(TimedLine(start, start + slot, start + min(length, 0.92 * slot)))
        start += slot
    return out
