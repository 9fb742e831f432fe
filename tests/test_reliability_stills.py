"""Stills as `image:`: deep greyscale, alpha, orientation come out as they look; huge or broken
files are one diagnostic at the `image:` line, never a decompression bomb."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from storyboard_helpers import diagnostics_of, make_project
from storyboard_project import director

from nava_director.render.run import render
from nava_director.storyboard.still import read_still

GRADIENT = np.tile(np.linspace(0, 65535, 96).astype(np.uint16), (64, 1))  # black to white, left to right


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims ``width`` x ``height`` (16-bit grey) with one tiny IDAT: cheap to write."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0\0"))
                     + chunk(b"IEND", b""))
    return path


def test_16_bit_greyscale_reads_as_its_grey_levels(tmp_path):
    Image.fromarray(GRADIENT).save(tmp_path / "g16.png")
    pixels = read_still(tmp_path / "g16.png")
    assert pixels.dtype == np.uint8 and pixels.shape == (64, 96, 3)
    assert pixels[:, 0].max() == 0 and pixels[:, -1].min() == 255
    assert abs(int(pixels[0, 48, 0]) - 128) <= 2


def test_32_bit_and_float_greyscale_too(tmp_path):
    Image.fromarray(GRADIENT.astype(np.int32), mode="I").save(tmp_path / "g32.tiff")
    assert abs(int(read_still(tmp_path / "g32.tiff")[0, 48, 1]) - 128) <= 2
    Image.fromarray((GRADIENT / 65535).astype(np.float32), mode="F").save(tmp_path / "f.tiff")
    assert abs(int(read_still(tmp_path / "f.tiff")[0, 48, 2]) - 128) <= 2


def test_transparency_is_black_and_exif_orientation_applied(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = 255  # white where fully transparent: must not show
    rgba[:4, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    pixels = read_still(tmp_path / "a.png")
    assert pixels[:4].min() == 255 and pixels[4:].max() == 0
    tall = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    tall.save(tmp_path / "r.jpg", exif=exif)
    assert read_still(tmp_path / "r.jpg").shape == (40, 20, 3)


def _first_frame_rendered_from(folder: Path, pixels: np.ndarray) -> np.ndarray:
    folder.mkdir()
    Image.fromarray(pixels).save(folder / "still.png")
    sb = folder / "sb.yaml"
    sb.write_text("scenes:\n  - id: s\n    shots:\n      - {id: a, duration: 1, action: 静物, image: still.png}\n",
                  encoding="utf-8")
    assert render(director(sb)).rendered == ["a"]
    return np.asarray(Image.open(next((folder / "sb.nava" / "shots" / "a").glob("take-*/first_frame.png"))))


def test_a_16_bit_still_renders_as_its_8_bit_twin(tmp_path):
    deep = _first_frame_rendered_from(tmp_path / "deep", np.full((64, 96), 20000, np.uint16))
    twin = _first_frame_rendered_from(tmp_path / "twin", np.full((64, 96), round(20000 / 257), np.uint8))
    assert np.abs(deep.astype(int) - twin).max() <= 2


BAD = {
    "20000x20000": lambda p: _png_header_only(p, 20000, 20000),
    "9000x9000": lambda p: _png_header_only(p, 9000, 9000),
    "1x100000000": lambda p: _png_header_only(p, 1, 100_000_000),
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes((Path(__file__).parents[1] / "storyboards" / "voices" / "lin.wav")
                                         .read_bytes()[:40]),
    "text": lambda p: p.write_text("not an image"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_still_is_one_line_at_its_image_key(tmp_path, monkeypatch, name):
    monkeypatch.chdir(make_project(tmp_path))
    BAD[name](tmp_path / "still.png")
    lines = diagnostics_of("scenes:\n  - id: s\n    shots:\n      - id: a\n        duration: 2\n"
                           "        action: 走\n        image: still.png\n")
    assert len(lines) == 1 and lines[0].startswith("bad.yaml:7:16: scenes[0].shots[0].image: "), lines
    assert "at most 8192x8192 pixels" in lines[0]
