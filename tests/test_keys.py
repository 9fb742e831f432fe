"""Shot keys: every input that shapes a clip changes the key; the seed is not one of them."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from nava_director.project.keys import ShotKey, file_hash, image_hash

BASE = ShotKey(
    caption="<S>你好<E>",
    writer="template",
    voices=("v1",),
    first_frame=None,
    upstream=None,
    width=96,
    height=64,
    frames=25,
    fps=24,
    steps=4,
    guidance=(),
    engine="animatic-1",
)


def test_the_seed_is_not_part_of_a_key():
    assert "seed" not in {f.name for f in dataclasses.fields(ShotKey)}
    assert BASE.value == dataclasses.replace(BASE).value and len(BASE.value) == 32


@pytest.mark.parametrize(
    "change",
    [
        {"caption": "<S>您好<E>"},
        {"writer": "vllm"},
        {"voices": ("v2",)},
        {"first_frame": "img"},
        {"upstream": "last"},
        {"width": 128},
        {"height": 96},
        {"frames": 29},
        {"fps": 25},
        {"steps": 5},
        {"guidance": (("s_v", 4.0),)},
        {"engine": "nava-1-abc"},
    ],
)
def test_every_input_changes_the_key(change):
    assert dataclasses.replace(BASE, **change).value != BASE.value


def test_file_hash_follows_the_file(tmp_path):
    path = tmp_path / "voice.wav"
    path.write_bytes(b"one")
    first = file_hash(path)
    path.write_bytes(b"two")
    os.utime(path, ns=(1, 1))  # a new mtime, as any edit gives
    assert file_hash(path) != first


def test_image_hash_is_of_pixels_and_shape():
    pixels = np.zeros((4, 6, 3), np.uint8)
    assert image_hash(pixels) == image_hash(pixels.copy())
    assert image_hash(pixels) != image_hash(pixels.reshape(6, 4, 3))
