"""Shot keys (docs/architecture.md, "Cache keys"): the hash of everything that shapes a shot's clip, except the seed.

A take is (key, seed) -> clip. Two runs that would send the engine the same request get
the same key, so the second reuses the first's take; change any input (the caption or its
writer, a voice file, the first-frame image, size, length, steps, guidance, the engine or
its weights, or the last frame of the take a continued shot starts from) and the key
changes, so exactly that shot and the shots continued from it render again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

_file_hashes: dict[tuple[str, int, int], str] = {}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fraction(text: str) -> float:
    """A number in [0, 1) that a text always maps to (Python's own ``hash`` is salted per process)."""
    return int(digest(text.encode())[:13], 16) / 16**13


def file_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, remembered per (path, size, mtime) for the process."""
    stat = os.stat(path)
    memo = (os.fspath(path), stat.st_size, stat.st_mtime_ns)
    if memo not in _file_hashes:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _file_hashes[memo] = h.hexdigest()
    return _file_hashes[memo]


def image_hash(pixels: np.ndarray) -> str:
    """Hash of an image's pixels (uint8 [H,W,C]) with its shape: independent of how it was stored."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    return digest(repr(pixels.shape).encode() + pixels.tobytes())


@dataclass(frozen=True)
class ShotKey:
    """The inputs of one shot's key; :attr:`value` is the key itself."""

    caption: str  # in the model's markup
    writer: str  # template | vllm | transformers (with its model)
    voices: tuple[str | None, ...]  # file hash of each span's voice, in span order (None: no voice)
    first_frame: str | None  # hash of a given `image:` file
    upstream: str | None  # last-frame hash of the upstream shot's chosen take (continued shots)
    width: int
    height: int
    frames: int
    fps: int
    steps: int
    guidance: tuple[tuple[str, float], ...]  # sorted (name, scale); empty: the engine's defaults
    engine: str  # engine id, including its weights id
    negative_prompt: str | None = None  # None: the engine's own

    @property
    def value(self) -> str:
        fields = asdict(self)
        if fields["negative_prompt"] is None:  # absent, as before the field existed: keys stay put
            del fields["negative_prompt"]
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return digest(canonical.encode())[:32]


def voice_hashes(voices: list[Path | None]) -> tuple[str | None, ...]:
    return tuple(file_hash(v) if v is not None else None for v in voices)


def guidance_items(guidance: dict[str, float] | None) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((guidance or {}).items()))
