"""Mel spectrograms with ``torch.stft`` and triangular mel filterbanks (what torchaudio computes).

torchaudio cannot be imported beside torch 2.13, so its ``MelSpectrogram`` (slaney or HTK
scale, optional slaney area normalisation, magnitude or power) is written out here, in
float32 as torchaudio does, so the numbers match it.
"""

from __future__ import annotations

import math

import torch

_F_SP = 200.0 / 3  # slaney: linear below 1 kHz, 200/3 Hz per mel
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_slaney_mel(freq: float) -> float:
    if freq < _MIN_LOG_HZ:
        return freq / _F_SP
    return _MIN_LOG_MEL + math.log(freq / _MIN_LOG_HZ) / _LOGSTEP


def slaney_mel_to_hz(mels: torch.Tensor) -> torch.Tensor:
    log_part = _MIN_LOG_HZ * torch.exp(_LOGSTEP * (mels - _MIN_LOG_MEL))
    return torch.where(mels >= _MIN_LOG_MEL, log_part, _F_SP * mels)


def hz_to_htk_mel(freq: float) -> float:
    return 2595.0 * math.log10(1.0 + freq / 700.0)


def htk_mel_to_hz(mels: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)


def slaney_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """Triangular slaney-scale filters, area-normalised: ``[n_fft // 2 + 1, n_mels]`` float32."""
    f_pts = _corner_frequencies(hz_to_slaney_mel, slaney_mel_to_hz, sample_rate, n_mels, f_min, f_max)
    area = 2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])
    return _triangles(f_pts, sample_rate, n_fft) * area.unsqueeze(0)


def htk_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """Triangular HTK-scale filters peaking at 1 (no normalisation): ``[n_fft // 2 + 1, n_mels]`` float32."""
    f_pts = _corner_frequencies(hz_to_htk_mel, htk_mel_to_hz, sample_rate, n_mels, f_min, f_max)
    return _triangles(f_pts, sample_rate, n_fft)


def _corner_frequencies(
    to_mel, to_hz, sample_rate: int, n_mels: int, f_min: float, f_max: float | None
) -> torch.Tensor:
    f_max = sample_rate / 2 if f_max is None else f_max
    return to_hz(torch.linspace(to_mel(f_min), to_mel(f_max), n_mels + 2))


def _triangles(f_pts: torch.Tensor, sample_rate: int, n_fft: int) -> torch.Tensor:
    all_freqs = torch.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0)


def spectrogram(wave: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, power: float) -> torch.Tensor:
    """``[..., N]`` -> ``|STFT|^power`` ``[..., n_fft // 2 + 1, 1 + N // hop]`` (centred, reflect-padded)."""
    shape = wave.shape
    spec = torch.stft(
        wave.reshape(-1, shape[-1]),
        n_fft=n_fft,
        hop_length=hop,
        win_length=window.shape[0],
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    magnitude = spec.abs() if power == 1.0 else spec.abs().pow(power)
    return magnitude.reshape(shape[:-1] + magnitude.shape[-2:])


def mel_spectrogram(
    wave: torch.Tensor, filterbank: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, power: float
) -> torch.Tensor:
    """``[..., N]`` -> mel ``[..., n_mels, frames]`` with ``filterbank`` ``[n_fft // 2 + 1, n_mels]``."""
    spec = spectrogram(wave, n_fft, hop, window, power)
    return torch.matmul(spec.transpose(-1, -2), filterbank).transpose(-1, -2)
