"""Mel spectrograms with ``torch.stft`` and a slaney filterbank (what torchaudio computes).

torchaudio cannot be imported beside torch 2.13, so its ``MelSpectrogram`` (slaney scale,
slaney area normalisation, magnitude or power) is written out here, in float32 as torchaudio
does, so the numbers match it.
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


def slaney_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None) -> torch.Tensor:
    """Triangular slaney-scale filters, area-normalised: ``[n_fft // 2 + 1, n_mels]`` float32."""
    f_max = sample_rate / 2 if f_max is None else f_max
    all_freqs = torch.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    m_pts = torch.linspace(hz_to_slaney_mel(f_min), hz_to_slaney_mel(f_max), n_mels + 2)
    f_pts = slaney_mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    filters = torch.clamp(torch.minimum(down, up), min=0.0)
    area = 2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])
    return filters * area.unsqueeze(0)


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


def mel_spectrogram(wave: torch.Tensor, filterbank: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, power: float) -> torch.Tensor:
    """``[..., N]`` -> mel ``[..., n_mels, frames]`` with ``filterbank`` ``[n_fft // 2 + 1, n_mels]``."""
    spec = spectrogram(wave, n_fft, hop, window, power)
    return torch.matmul(spec.transpose(-1, -2), filterbank).transpose(-1, -2)
