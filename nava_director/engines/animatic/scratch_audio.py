"""The animatic's scratch track: a voice-like tone per character over each line, a soft bed.

Not speech: a buzz with a syllable rhythm and moving vowel formants, at a pitch that is
each character's own (derived from their id), panned left or right by who speaks first.
Enough to judge timing and who talks when; nothing here pretends to be the real sound.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from nava_director.speech_timing import TimedLine, syllables

SAMPLE_RATE = 48_000
VOICE_LEVEL = 0.25
BED_LEVEL = 0.02
HARMONICS = 12
# (F1, F2) of a few vowels in Hz: each syllable takes one, so the tone "talks"
VOWELS = np.array([(730, 1090), (270, 2290), (300, 870), (530, 1840), (570, 840), (660, 1720)])


@dataclass(frozen=True)
class VoicedLine:
    text: str
    speaker: str | None  # character id; None: a span nobody voices (a neutral tone)
    timing: TimedLine


def _unit(text: str) -> float:
    """A stable number in [0, 1) from text (Python's own hash is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def character_pitch(speaker: str | None) -> float:
    """A character's fundamental in Hz: 95–255 Hz, the same for the same id in every shot."""
    return 175.0 if speaker is None else 95.0 + 160.0 * _unit(speaker)


def _formant_gain(freqs: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Resonance weights of harmonic frequencies ``freqs`` [H,N] for ``formants`` [2,N]."""
    gain = np.zeros_like(freqs)
    for f in formants:
        gain += 1.0 / (1.0 + ((freqs - f) / (0.12 * f + 60.0)) ** 2)
    return gain


def voice(text: str, seconds: float, f0: float, rng: np.random.Generator) -> np.ndarray:
    """A mono voice-like tone of ``seconds`` with one amplitude burst per syllable."""
    n = max(1, int(round(seconds * SAMPLE_RATE)))
    count = syllables(text)
    t = np.arange(n) / SAMPLE_RATE
    syllable = np.minimum((t / seconds * count).astype(int), count - 1)
    phase_in_syllable = t / seconds * count - syllable  # 0..1 inside each syllable

    # pitch: a per-syllable step (tones) plus a falling phrase contour
    steps = 2 ** (rng.uniform(-3, 3, count) / 12)
    pitch = f0 * steps[syllable] * (1.05 - 0.1 * t / seconds)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE

    vowels = VOWELS[rng.integers(0, len(VOWELS), count)][syllable].T  # [2,N]
    k = np.arange(1, HARMONICS + 1)[:, None]
    harmonics = np.sin(k * phase[None]) / k * _formant_gain(k * pitch[None], vowels)
    envelope = np.sin(np.pi * phase_in_syllable) ** 0.6
    tone = harmonics.sum(0) * envelope
    return (tone / (np.abs(tone).max() + 1e-9)).astype(np.float32)


def bed(seconds: float, sound: str, rng: np.random.Generator) -> np.ndarray:
    """Soft stereo brown noise [2,N] that swells slowly; ``sound`` sets its colour and swell."""
    n = int(round(seconds * SAMPLE_RATE))
    white = rng.standard_normal((2, n))
    leak = 0.995 - 0.01 * _unit(sound)  # darker or brighter rumble per described sound
    brown = lfilter([1.0], [1.0, -leak], white, axis=1)  # a leaky integrator
    brown /= np.abs(brown).max() + 1e-9
    t = np.arange(n) / SAMPLE_RATE
    swell = 0.7 + 0.3 * np.sin(2 * np.pi * (0.15 * t + _unit(sound + "phase")))
    return (BED_LEVEL * brown * swell).astype(np.float32)


def scratch_audio(
    lines: list[VoicedLine], sound: str, seconds: float, rng: np.random.Generator
) -> np.ndarray:
    """The shot's track: stereo float32 [2, round(seconds·48k)] at 48 kHz."""
    audio = bed(seconds, sound, rng)
    speakers = list(dict.fromkeys(line.speaker for line in lines if line.speaker is not None))
    for line in lines:
        start = int(round(line.timing.start * SAMPLE_RATE))
        tone = voice(line.text, line.timing.speech_end - line.timing.start, character_pitch(line.speaker), rng)
        tone = tone[: audio.shape[1] - start]
        side = speakers.index(line.speaker) if line.speaker in speakers else -1  # -1: centre
        pan = {0: (0.8, 0.55), 1: (0.55, 0.8)}.get(side % 2 if side >= 0 else -1, (0.7, 0.7))
        for channel, gain in enumerate(pan):
            audio[channel, start : start + len(tone)] += VOICE_LEVEL * gain * tone
    return audio
