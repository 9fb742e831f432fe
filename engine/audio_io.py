"""Reading audio files and changing their sample rate (polyphase, anti-aliased)."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import torch


def read_audio(path: str | Path) -> tuple[torch.Tensor, int]:
    """An audio file (WAV, FLAC, OGG: whatever libsndfile reads) -> float32 ``[channels, N]`` and its rate.

    Raises ``OSError``/``RuntimeError`` from soundfile for unreadable files; callers word the error.
    """
    import soundfile

    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(rate)


def resample(wave: torch.Tensor, rate: int, target_rate: int) -> torch.Tensor:
    """``[..., N]`` at ``rate`` -> ``[..., ceil(N * target_rate / rate)]`` at ``target_rate``.

    Polyphase filtering (``scipy.signal.resample_poly``, Kaiser window), so nothing above the
    new Nyquist frequency folds back.
    """
    if rate == target_rate:
        return wave
    from scipy.signal import resample_poly

    g = gcd(rate, target_rate)
    out = resample_poly(wave.detach().cpu().double().numpy(), target_rate // g, rate // g, axis=-1)
    return torch.from_numpy(out).to(dtype=wave.dtype, device=wave.device)
