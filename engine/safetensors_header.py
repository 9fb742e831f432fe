"""A safetensors file's index, read from its header alone (no tensor bytes, no torch).

The format: an 8-byte little-endian header length, that many bytes of JSON (every tensor's
dtype, shape and byte range in the data section, plus ``__metadata__``), then the data.
Reading it costs one small read, whatever the file's size; a file shorter than its own
index says is truncated, and this says by how much.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import WeightsError

MAX_HEADER = 100 << 20  # the format's own limit on the JSON header
ITEM_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4,
              "I16": 2, "I8": 1, "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8}  # fmt: skip


@dataclass(frozen=True)
class TensorEntry:
    dtype: str  # the format's name: BF16, F32, F8_E4M3, …
    shape: tuple[int, ...]
    start: int  # byte range in the data section
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.start


@dataclass
class SafetensorsHeader:
    path: Path
    tensors: dict[str, TensorEntry]
    metadata: dict[str, str] = field(default_factory=dict)
    data_start: int = 0  # offset of the data section in the file

    @property
    def expected_size(self) -> int:
        """The file's size if complete: header, then the data up to its last tensor's end."""
        return self.data_start + max((e.end for e in self.tensors.values()), default=0)

    @property
    def tensor_bytes(self) -> int:
        return sum(e.nbytes for e in self.tensors.values())

    def dtypes(self) -> dict[str, int]:
        """How many tensors of each dtype."""
        counts: dict[str, int] = {}
        for entry in self.tensors.values():
            counts[entry.dtype] = counts.get(entry.dtype, 0) + 1
        return counts


def read_header(path: str | Path) -> SafetensorsHeader:
    """The index of ``path``; WeightsError when it is not a safetensors file or its header is damaged."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise WeightsError(f"{path} is {size} bytes: too short for a safetensors file (truncated?)")
        (length,) = struct.unpack("<Q", head)
        if length > MAX_HEADER or 8 + length > size:
            raise WeightsError(
                f"{path} is not a complete safetensors file (its header says {length} bytes, the file has {size})"
            )
        try:
            raw = json.loads(f.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{path} is not a safetensors file (its header is not JSON: {exc})") from exc
    if not isinstance(raw, dict):
        raise WeightsError(f"{path} is not a safetensors file (its header is not a JSON object)")
    metadata = raw.pop("__metadata__", None) or {}
    tensors = {}
    for key, entry in raw.items():
        try:
            dtype, shape, (start, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{path}: the header entry of {key!r} is malformed") from exc
        if dtype in ITEM_BYTES and end - start != ITEM_BYTES[dtype] * math.prod(shape):
            raise WeightsError(f"{path}: tensor {key!r} has {end - start} bytes for {dtype} {list(shape)}")
        tensors[key] = TensorEntry(dtype, shape, start, end)
    return SafetensorsHeader(path, tensors, dict(metadata), 8 + length)


TORCH_DTYPE_NAMES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                     "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "I64": "int64", "I32": "int32",
                     "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}  # fmt: skip


def read_tensor(header: SafetensorsHeader, key: str):
    """One tensor, read with a plain positioned read into memory of its own (no memory map,
    so nothing of the rest of the file becomes resident)."""
    import os

    import torch

    entry = header.tensors[key]
    dtype = getattr(torch, TORCH_DTYPE_NAMES[entry.dtype])
    buffer = bytearray(entry.nbytes)
    fd = os.open(header.path, os.O_RDONLY)
    try:
        view, at = memoryview(buffer), 0
        while at < entry.nbytes:
            got = os.preadv(fd, [view[at:]], header.data_start + entry.start + at)
            if got <= 0:
                raise WeightsError(f"{header.path} ends inside tensor {key!r} (truncated)")
            at += got
    finally:
        os.close(fd)
    if not entry.nbytes:
        return torch.empty(entry.shape, dtype=dtype)
    return torch.frombuffer(buffer, dtype=dtype).reshape(entry.shape)
