"""What a reference voice must be for the speaker model (ReDimNet at 16 kHz): one rule, numpy only.

:func:`voice_problem` is asked by :func:`engine.speaker.load_voice` before it embeds a voice,
and (through :mod:`engine.pipeline`) by a caller that wants to refuse a voice up front
without importing torch.
"""

from __future__ import annotations

import numpy as np

MODEL_RATE = 16000  # the speaker model's mel front end
MIN_RATE = 8000  # below this there is no speech band left to hear (telephone speech is 8 kHz)
MIN_SECONDS = 0.5
SILENCE_PEAK = 1e-4  # -80 dBFS: nothing to hear
FIX = "use a WAV/FLAC of one person speaking, at least half a second long, sampled at 8 kHz or more"


def voice_problem(audio: np.ndarray, rate: int) -> str | None:
    """Why ``audio`` (float ``[channels, N]`` at ``rate`` Hz) cannot be a reference voice, else None.

    The text completes "the voice ..." (e.g. "is silent")."""
    audio = np.asarray(audio)
    if rate < MIN_RATE:
        return f"is sampled at {rate} Hz; the speaker model needs at least {MIN_RATE} Hz"
    if audio.ndim != 2 or audio.shape[1] < MIN_SECONDS * rate:
        seconds = audio.shape[-1] / rate if audio.ndim else 0.0
        return f"is too short ({seconds:.2f} s; at least {MIN_SECONDS} s)"
    if not np.isfinite(audio).all():
        return "contains invalid samples (NaN or inf)"
    mono = audio.astype(np.float64).mean(axis=0)
    if np.abs(mono).max() < SILENCE_PEAK:
        return "is silent"
    if np.abs(mono - mono.mean()).max() < SILENCE_PEAK:
        return "is a constant offset (DC), not a voice"
    return None
