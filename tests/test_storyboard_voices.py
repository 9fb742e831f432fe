"""The example voices are made by the project (scripts/make_voices.py): short, distinct, usable."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import soundfile as sf
from storyboard_helpers import ROOT, VOICES

from nava_director.storyboard.casting import voice_problem


def pitch(audio: np.ndarray, rate: int) -> float:
    """The strongest periodicity between 70 and 400 Hz (autocorrelation)."""
    audio = audio[:rate] - audio[:rate].mean()
    spectrum = np.fft.rfft(audio, 2 * audio.size)
    corr = np.fft.irfft(spectrum * spectrum.conj())[: audio.size]
    lo, hi = rate // 400, rate // 70
    return rate / (lo + int(np.argmax(corr[lo:hi])))


def test_the_script_remakes_the_committed_voices(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_voices.py"), str(tmp_path)],
                   check=True, capture_output=True, timeout=60)
    for name in ("lin", "chen"):
        made, rate = sf.read(tmp_path / f"{name}.wav")
        committed, committed_rate = sf.read(VOICES / f"{name}.wav")
        assert rate == committed_rate == 16000
        assert made.shape == committed.shape and made.ndim == 1  # mono
        assert 2.0 <= made.shape[0] / rate <= 4.0
        assert np.abs(made - committed).max() < 1e-3
        assert voice_problem(VOICES / f"{name}.wav", name) is None


def test_the_two_voices_differ():
    lin, rate = sf.read(VOICES / "lin.wav")
    chen, _ = sf.read(VOICES / "chen.wav")
    assert pitch(lin, rate) > 1.5 * pitch(chen, rate)  # a higher and a lower voice
    assert 150 < pitch(lin, rate) < 300 and 80 < pitch(chen, rate) < 150
