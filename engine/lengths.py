"""Clip lengths (docs/engine.md, "Lengths"): pixel frames, latent frames, audio tokens and samples.

A clip of N = 4k + 1 frames at 24 fps has (N - 1) / 4 + 1 latent frames and
ceil(N / 24 * 25) audio tokens; its decoded audio is trimmed or padded to exactly N / 24 s.
"""

from __future__ import annotations

import math

import numpy as np

FPS = 24
AUDIO_TOKENS_PER_SECOND = 25
SAMPLE_RATE = 48_000
TEMPORAL_FACTOR = 4  # pixel frames per latent frame (after the first)


def frames_for_seconds(seconds: float) -> int:
    """The 4k + 1 frame count that renders ``seconds`` (the plan's rule: halves round up)."""
    return TEMPORAL_FACTOR * math.floor(seconds * FPS / TEMPORAL_FACTOR + 0.5) + 1


def check_frames(frames: int) -> None:
    if frames < 1 or (frames - 1) % TEMPORAL_FACTOR:
        raise ValueError(f"frames must be 4k + 1 (1, 5, 9, …, 121, …), got {frames}")


def latent_frames(frames: int) -> int:
    check_frames(frames)
    return (frames - 1) // TEMPORAL_FACTOR + 1


def audio_tokens(frames: int) -> int:
    """``ceil(frames / 24 * 25)``, in integers."""
    return -(-frames * AUDIO_TOKENS_PER_SECOND // FPS)


def audio_samples(frames: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Samples in exactly ``frames / 24`` seconds (rounded to the nearest sample)."""
    return round(frames * sample_rate / FPS)


def fit_audio(audio: np.ndarray, samples: int) -> np.ndarray:
    """``[channels, N]`` trimmed, or padded with silence, to ``samples``."""
    if audio.shape[-1] >= samples:
        return audio[..., :samples]
    return np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(0, samples - audio.shape[-1])])
