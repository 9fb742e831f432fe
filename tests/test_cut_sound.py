"""The film's sound: envelopes and mixing (mix.py), loudness and true peak (loudness.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nava_director.cut.edit import CutShot, plan_edit
from nava_director.cut.loudness import integrated_loudness, normalise, true_peak_db
from nava_director.cut.mix import JOIN_FADE_S, envelope, mix, ramp

RATE = 48_000


def test_crossfade_ramps_keep_constant_power():
    up = ramp(480)
    assert np.allclose(up**2 + up[::-1] ** 2, 1.0, atol=1e-6)
    env = envelope(1000, 100, 200)
    assert env[0] < 0.02 and env[-1] < 0.01 and np.all(env[100:800] == 1)


def test_mix_places_each_shot_and_crossfades_a_dissolve():
    shots = [CutShot("a", Path("a"), 24, 24), CutShot("b", Path("b"), 24, 24, transition="dissolve", transition_s=0.25)]
    edit = plan_edit(shots, 24)
    ones = np.ones((2, 24 * 2000), np.float32)
    out = mix(edit, {Path("a"): ones, Path("b"): 2 * ones}, RATE)
    assert out.shape == (2, (48 - 6) * 2000)
    assert out[0, 1000] == pytest.approx(1) and out[0, -1000] == pytest.approx(2)
    fade = out[0, 18 * 2000 : 24 * 2000]  # the dissolve: a falls as b rises (equal power), no gap
    assert fade.min() > 0.99 and fade.max() <= np.sqrt(1 + 2**2) + 1e-3
    short = int(JOIN_FADE_S * RATE)
    assert out[0, 0] < 0.05 and out[0, short] == pytest.approx(1)  # the film's head fades in briefly


def test_continued_shot_loses_its_first_frame_of_sound():
    shots = [CutShot("a", Path("a"), 24, 24), CutShot("b", Path("b"), 24, 24, continued=True)]
    marker = np.zeros((2, 24 * 2000), np.float32)
    marker[:, :2000] = 1.0  # b's first frame of sound, which the cut must drop
    out = mix(plan_edit(shots, 24), {Path("a"): np.zeros_like(marker), Path("b"): marker}, RATE)
    assert out.shape[1] == 47 * 2000 and not out.any()


def tone(seconds: float, amplitude: float, freq: float = 997.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    x = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x, x])


@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_normalise_reaches_the_target_loudness(target):
    out = normalise(tone(2.0, 0.05), RATE, target)
    assert integrated_loudness(out, RATE) == pytest.approx(target, abs=0.1)


def test_true_peak_stays_under_the_ceiling():
    clicky = tone(3.0, 0.02)
    clicky[:, RATE // 7 :: RATE // 2] = 0.9  # six clicks, far louder than the tone
    out = normalise(clicky, RATE, -10.0)  # a loud target: the clicks would go far over full scale
    assert true_peak_db(out) <= -1.0
    assert integrated_loudness(out, RATE) == pytest.approx(-10.0, abs=1.0)  # the limiter touched only the peaks


def test_silence_and_very_short_sound_pass_through():
    assert not normalise(np.zeros((2, RATE), np.float32), RATE).any()
    short = tone(0.1, 0.1)
    assert np.allclose(normalise(short, RATE), short)
