"""Subtitles from the dialogue: SRT, and WebVTT with ``<v Name>`` voice tags.

A cue's text is normalised once (:func:`cue_text`): one cue per dialogue line, its own line
breaks kept but never a blank line (which ends a cue in both formats). Each format then
escapes what it would read as markup: WebVTT by its entities; SRT, which has none, by a
word joiner (U+2060, invisible) after ``<``, ``{`` and ``\\`` and inside ``-->``, so that
neither a player nor ffmpeg's SRT-to-mov_text conversion takes the text for a tag, an
override, a line break or a timing line.

Each line is timed inside its shot: the shot's lines share the time its sound is heard in
the film, each in proportion to its spoken length (a CJK character or a word counts one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from nava_director.cut.edit import Edit, Placement

SPOKEN_UNIT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[^\W_]+")
LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")
WORD_JOINER = "\u2060"
SRT_MARKUP = re.compile(r"([<{\\])")


@dataclass(frozen=True)
class Cue:
    start: float  # seconds on the film
    end: float
    text: str
    speaker: str | None
    shot_id: str


def spoken_length(text: str) -> int:
    return max(1, len(SPOKEN_UNIT.findall(text)))


def cue_text(text: str) -> str:
    """A dialogue line as one cue's text: its lines stripped, blank ones dropped."""
    lines = (line.strip() for line in LINE_BREAKS.split(text))
    return "\n".join(line for line in lines if line)


def shot_cues(p: Placement, fps: int) -> list[Cue]:
    lines = [(speaker, cue_text(text)) for speaker, text in p.shot.dialogue if cue_text(text)]
    if not lines:
        return []
    heard = p.sound
    start, seconds = heard.start / fps, len(heard) / fps
    total = sum(spoken_length(text) for _, text in lines)
    cues, done = [], 0
    for speaker, text in lines:
        begin = start + seconds * done / total
        done += spoken_length(text)
        speaker = " ".join(cue_text(speaker).split()) if speaker else None
        cues.append(Cue(begin, start + seconds * done / total, text, speaker or None, p.shot.shot_id))
    return cues


def film_cues(edit: Edit) -> list[Cue]:
    return [cue for p in edit.placements for cue in shot_cues(p, edit.fps)]


def _clock(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def srt_text(text: str) -> str:
    return SRT_MARKUP.sub(r"\1" + WORD_JOINER, text).replace("-->", "--" + WORD_JOINER + ">")


def to_srt(cues: list[Cue]) -> str:
    blocks = [
        f"{i}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n{srt_text(c.text)}\n"
        for i, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: list[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for c in cues:
        voice = f"<v {escape(c.speaker, quote=False)}>" if c.speaker else ""
        blocks.append(f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n{voice}{escape(c.text, quote=False)}\n")
    return "\n".join(blocks)
