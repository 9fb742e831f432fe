"""The animatic's scratch track: each line spoken by espeak-ng in its slot, over a soft bed.

Each character speaks with a voice variant and a pitch of their own (the cast voice's median
pitch, else one derived from their id; see ``speech.py``), panned left or right by who
speaks first. A synthesizer's voice, not the cast one: enough to judge timing, who talks
when, and for the take checks to hear speech where the script has it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nava_director.engines.animatic.speech import speak
from nava_director.engines.animatic.speech_timing import TimedLine
from nava_director.project.keys import fraction

SAMPLE_RATE = 48_000
VOICE_LEVEL = 0.5
BED_LEVEL = 0.02


@dataclass(frozen=True)
class VoicedLine:
    text: str
    speaker: str | None  # character id; None: a span nobody voices (a neutral tone)
    pitch: float  # Hz
    timing: TimedLine


def character_pitch(speaker: str | None) -> float:
    """A character's fundamental in Hz when no voice is cast: 95–255 Hz, stable per id."""
    return 175.0 if speaker is None else 95.0 + 160.0 * fraction(speaker)


@functools.cache
def _voice_pitch(path: Path, size: int, mtime_ns: int) -> float | None:
    import soundfile as sf

    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)[: 3 * rate]
    window, hop = int(0.04 * rate), int(0.02 * rate)
    lags = np.arange(rate // 400, rate // 70)
    frames = [mono[s : s + window] for s in range(0, len(mono) - window, hop)]
    loud = max((float(np.sqrt(np.mean(f**2))) for f in frames), default=0.0)
    pitches = []
    for frame in frames:
        if np.sqrt(np.mean(frame**2)) < 0.3 * loud or loud == 0:
            continue
        corr = np.correlate(frame, frame, "full")[window - 1 :]
        pitches.append(rate / lags[np.argmax(corr[lags])])
    return float(np.median(pitches)) if pitches else None


def voice_pitch(path: Path | None, speaker: str | None) -> float:
    """The pitch a line is voiced at: the cast voice's own median pitch, else the id's."""
    if path is not None and path.is_file():
        stat = path.stat()
        if (pitch := _voice_pitch(path, stat.st_size, stat.st_mtime_ns)) is not None:
            return round(pitch)
    return character_pitch(speaker)


def bed(seconds: float, sound: str, rng: np.random.Generator) -> np.ndarray:
    """Soft stereo brown noise [2,N] that swells slowly; ``sound`` sets its colour and swell."""
    from scipy.signal import lfilter

    n = round(seconds * SAMPLE_RATE)
    white = rng.standard_normal((2, n))
    leak = 0.995 - 0.01 * fraction(sound)  # darker or brighter rumble per described sound
    brown = lfilter([1.0], [1.0, -leak], white, axis=1)  # a leaky integrator
    brown /= np.abs(brown).max() + 1e-9
    t = np.arange(n) / SAMPLE_RATE
    swell = 0.7 + 0.3 * np.sin(2 * np.pi * (0.15 * t + fraction(sound + "phase")))
    return (BED_LEVEL * brown * swell).astype(np.float32)


def scratch_audio(lines: list[VoicedLine], sound: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """The shot's track: stereo float32 [2, round(seconds·48k)] at 48 kHz."""
    audio = bed(seconds, sound, rng)
    speakers = list(dict.fromkeys(line.speaker for line in lines if line.speaker is not None))
    for line in lines:
        start = round(line.timing.start * SAMPLE_RATE)
        tone = speak(line.text, line.speaker, line.pitch, line.timing.speech_end - line.timing.start, SAMPLE_RATE)
        tone = tone[: audio.shape[1] - start]
        side = speakers.index(line.speaker) if line.speaker in speakers else -1  # -1: centre
        pan = {0: (0.8, 0.55), 1: (0.55, 0.8)}.get(side % 2 if side >= 0 else -1, (0.7, 0.7))
        for channel, gain in enumerate(pan):
            audio[channel, start : start + len(tone)] += VOICE_LEVEL * gain * tone
    return audio
