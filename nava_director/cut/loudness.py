"""Loudness: the mix normalised to a target integrated loudness (ITU-R BS.1770 via
pyloudnorm), its true peak (4x oversampled) held under a ceiling by a short look-ahead limiter."""

from __future__ import annotations

import numpy as np

OVERSAMPLE = 4
LOOKAHEAD_S = 0.005


def integrated_loudness(audio: np.ndarray, rate: int) -> float:
    """LUFS of float [2, N] audio; -inf for silence or less than one 400 ms block."""
    import pyloudnorm

    if audio.shape[1] < int(0.4 * rate) or not np.any(audio):
        return float("-inf")
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio.T.astype(np.float64)))


def sample_peaks(audio: np.ndarray) -> np.ndarray:
    """Per-sample peak over channels and the inter-sample values between it and the next."""
    from scipy.signal import resample_poly

    over = np.abs(resample_poly(audio, OVERSAMPLE, 1, axis=-1))
    return over.max(axis=0).reshape(-1, OVERSAMPLE).max(axis=1)


def true_peak_db(audio: np.ndarray) -> float:
    peak = float(sample_peaks(audio).max()) if audio.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def limit(audio: np.ndarray, rate: int, ceiling_db: float) -> np.ndarray:
    """Pull the gain down around every peak over the ceiling, starting `LOOKAHEAD_S` ahead."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ceiling = 10 ** (ceiling_db / 20)
    gain = np.minimum(1.0, ceiling / np.maximum(sample_peaks(audio), 1e-12))
    if gain.min() >= 1.0:
        return audio
    width = max(1, int(LOOKAHEAD_S * rate))
    gain = uniform_filter1d(minimum_filter1d(gain, 2 * width + 1), width)
    return (audio * gain).astype(np.float32)


def normalise(
    audio: np.ndarray, rate: int, target_lufs: float = -16.0, ceiling_db: float = -1.0, passes: int = 3
) -> np.ndarray:
    """Gain `audio` to `target_lufs` with its true peak below `ceiling_db` dBTP.

    Limiting lowers the loudness a little, so the gain is corrected from the limited
    result and the original limited again, a few times."""
    gain, out = 1.0, audio
    for _ in range(passes):
        loudness = integrated_loudness(out, rate)
        if not np.isfinite(loudness) or abs(loudness - target_lufs) < 0.05:
            break
        gain *= 10 ** ((target_lufs - loudness) / 20)
        out = limit(audio * np.float32(gain), rate, ceiling_db)
    excess = true_peak_db(out) - ceiling_db
    if excess > 0:  # what the smoothed gain let through
        out = out * np.float32(10 ** (-(excess + 0.05) / 20))
    return out.astype(np.float32)
