"""What the script says of a take: its dialogue lines, each in the slot the subtitles give it.

A shot's lines share its time in proportion to their spoken length, exactly as the cut's
subtitles and the animatic time them (``engines/animatic/speech_timing.py``); a line is
expected to be heard inside its slot, for about its natural speaking time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nava_director.engines.animatic.speech_timing import time_lines
from nava_director.engines.base import SpeechLine


@dataclass(frozen=True)
class ScriptLine:
    text: str
    speaker: str | None  # character id; None: a span nobody voices
    voice: Path | None  # the character's cast voice (reference WAV)
    start: float  # slot, seconds from the take's start
    end: float
    speaking: float  # expected seconds of speech: natural pace, capped by the slot


@dataclass(frozen=True)
class ShotScript:
    shot_id: str
    lines: tuple[ScriptLine, ...]

    @classmethod
    def from_speech(cls, shot_id: str, speech: list[SpeechLine], seconds: float) -> ShotScript:
        spoken = [line for line in speech if line.text.strip()]
        slots = time_lines([line.text for line in spoken], seconds) if spoken else []
        return cls(
            shot_id,
            tuple(
                ScriptLine(line.text, line.speaker, line.voice, slot.start, slot.end, slot.speech_end - slot.start)
                for line, slot in zip(spoken, slots)
            ),
        )

    def voices(self) -> dict[str, Path]:
        """Each speaker with a cast voice file, once."""
        return {line.speaker: line.voice for line in self.lines if line.speaker and line.voice and line.voice.is_file()}
