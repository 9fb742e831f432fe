"""Make the example voices in storyboards/voices/: short, distinct, voice-like buzz.

Not speech: a glottal source (harmonics of a gliding pitch) shaped by vowel formants,
cut into syllables. Enough for the animatic's scratch audio and for tests that need a
real WAV per character; the project makes them itself, so nothing is downloaded.

    .venv/bin/python scripts/make_voices.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16_000
# (F1, F2, F3) in Hz of an adult male vowel; a voice scales them by its tract length
VOWELS = {"a": (730, 1090, 2440), "i": (270, 2290, 3010), "u": (300, 870, 2240),
          "e": (530, 1840, 2480), "o": (570, 840, 2410)}
BANDWIDTHS = np.array([90.0, 110.0, 170.0])


@dataclass(frozen=True)
class Voice:
    name: str
    pitch: float  # mean f0, Hz
    tract: float  # formant scale (shorter tract: higher formants)
    syllables: str  # vowel per syllable
    rate: float  # syllables per second
    seconds: float
    seed: int


VOICES = (
    Voice("lin", pitch=215.0, tract=1.17, syllables="aiuoeaio", rate=3.6, seconds=3.0, seed=1),
    Voice("chen", pitch=112.0, tract=1.0, syllables="oaeuaoi", rate=3.0, seconds=3.0, seed=2),
)


def synthesize(voice: Voice) -> np.ndarray:
    rng = np.random.default_rng(voice.seed)
    t = np.arange(int(voice.seconds * RATE)) / RATE
    # pitch: a falling phrase contour, slow vibrato, a little jitter
    contour = 1.0 + 0.12 * np.cos(np.pi * t / voice.seconds) + 0.015 * np.sin(2 * np.pi * 5.5 * t)
    f0 = voice.pitch * contour * (1 + 0.004 * rng.standard_normal(t.size).cumsum() / np.sqrt(t.size))
    phase = 2 * np.pi * np.cumsum(f0) / RATE

    # formants glide from syllable to syllable
    syllable = np.minimum((t * voice.rate).astype(int), len(voice.syllables) - 1)
    targets = np.array([VOWELS[v] for v in voice.syllables]) * voice.tract
    formants = targets[syllable]
    kernel = np.hanning(int(0.06 * RATE))
    formants = np.stack([np.convolve(formants[:, i], kernel / kernel.sum(), mode="same") for i in range(3)], 1)

    out = np.zeros_like(t)
    for k in range(1, int(RATE / 2 / voice.pitch)):
        freq = k * f0
        gain = sum(1.0 / (1.0 + ((freq - formants[:, i]) / BANDWIDTHS[i]) ** 2) for i in range(3))
        out += np.where(freq < RATE / 2 - 500, gain / k**0.7, 0.0) * np.sin(k * phase)

    # syllables: voiced in the middle of each beat, with breathy noise at the onsets
    beat = (t * voice.rate) % 1.0
    envelope = np.clip(np.sin(np.pi * np.clip((beat - 0.05) / 0.8, 0, 1)) * 1.4, 0, 1)
    breath = 0.02 * rng.standard_normal(t.size) * np.exp(-beat / 0.08)
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05)
    audio = (out * envelope + breath) * fade
    return (0.5 * audio / np.abs(audio).max()).astype(np.float32)


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for voice in VOICES:
        path = out_dir / f"{voice.name}.wav"
        sf.write(path, synthesize(voice), RATE, subtype="PCM_16")
        print(f"{path}: {voice.seconds:.1f} s, f0 {voice.pitch:.0f} Hz")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "storyboards" / "voices")
