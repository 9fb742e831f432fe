"""The film's -1 dBTP ceiling holds on the decoded AAC for loud targets; impossible targets
are refused up front."""

from __future__ import annotations

import math

import av
import numpy as np
import pytest

from nava_director.settings import load_settings
from nava_director.cut import CutSettings, CutShot, cut_film, write_clip
from nava_director.cut.clipfile import read_audio
from nava_director.cut.loudness import integrated_loudness, true_peak_db
from nava_director.engines.base import Clip
from nava_director.errors import InputError

FPS, RATE, FRAMES = 24, 48_000, 72


def _mix(kind: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    n = FRAMES * RATE // FPS
    if kind == "clicks":  # sparse full-scale clicks over a quiet bed
        bed = (0.01 * rng.standard_normal(n)).astype(np.float32)
        bed[:: RATE // 8] = 0.9
        return np.stack([bed, bed])
    if kind == "noise":  # dense, wide-band
        noise = (0.3 * rng.standard_normal(n)).astype(np.float32)
        return np.stack([noise, -noise])
    t = np.arange(n) / RATE  # a square-ish buzz: many harmonics, flat tops
    buzz = np.clip(3 * np.sin(2 * np.pi * 110 * t), -1, 1).astype(np.float32) * 0.5
    return np.stack([buzz, buzz])


@pytest.mark.parametrize("kind,target", [("clicks", -9), ("clicks", -6), ("noise", -9), ("buzz", -7)])
def test_the_ceiling_holds_on_the_decoded_film(tmp_path, kind, target):
    frames = np.full((FRAMES, 32, 48, 3), 60, np.uint8)
    take = write_clip(Clip(frames, _mix(kind), RATE, FPS), tmp_path / "take.mp4")
    film = cut_film([CutShot("a", take, FRAMES, FPS)], tmp_path / "film", CutSettings(loudness_lufs=target))
    with av.open(str(film.paths["mp4"])):
        pass
    sound = read_audio(film.paths["mp4"])
    assert true_peak_db(sound) <= -1.0
    assert integrated_loudness(sound, RATE) <= target + 0.5  # the ceiling wins over the target
    assert integrated_loudness(sound, RATE) > target - 6


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "100", "0", "-4", "-61", "loud", "", "1e999"])
def test_a_loudness_target_out_of_range_is_refused_up_front(value):
    with pytest.raises(InputError, match=r"--loudness: loudness .* is not a number of LUFS from -60 to -5"):
        load_settings(None, {"loudness": value}, env={})


@pytest.mark.parametrize("value", [True, math.nan, 3])
def test_a_toml_loudness_out_of_range_is_refused_naming_the_file(tmp_path, value):
    (tmp_path / "nava.toml").write_text(f"loudness = {str(value).lower()}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"nava.toml:1: loudness"):
        load_settings(tmp_path / "sb.yaml", {}, env={}, user_config=tmp_path / "none.toml")


def test_targets_in_range_are_kept():
    assert load_settings(None, {"loudness": "-23"}, env={}).loudness == -23.0
    assert load_settings(None, {"loudness": -5}, env={}).loudness == -5.0
