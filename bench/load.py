"""Loading the full-size checkpoint: peak memory over the weights kept, time over one read.

A ``nava-6.3b`` checkpoint with random bf16 weights in the released layout (``backbone.``
keys, one safetensors file, 12.6 GB) is written once into a cache folder outside the
repository. It is written tensor by tensor with the format's own framing (an 8-byte
little-endian header length, the JSON header, the raw bytes), so writing it never holds
more than one tensor in memory.

The engine's loader (``engine.weights.load_wan_av``) then loads it in a fresh process, which
that reports its peak resident memory (``VmHWM``) and the bytes of the tensors the model
keeps. The file is read once beforehand (page cache cannot be dropped without root), so
both the plain read and the load are measured warm, as far as memory lets the cache hold it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import torch

from bench.forward import RandomWeights
from engine.config import ModelConfig
from engine.weights import PREFIX

CACHE = Path(os.environ.get("NAVA_BENCH_CACHE", Path.home() / ".cache" / "nava-director" / "bench"))
SAFETENSORS_DTYPES = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32"}
READ_BLOCK = 64 << 20


class DiskSpaceError(RuntimeError):
    pass


def model_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The model's tensors by key, from a model built on the meta device."""
    from engine.model import WanAVModel

    with torch.device("meta"):
        model = WanAVModel(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def safetensors_header(shapes: dict[str, tuple[int, ...]], dtype: torch.dtype, prefix: str = PREFIX) -> bytes:
    """The length-prefixed JSON header of a file holding ``shapes`` in ``dtype``, in that order."""
    entries: dict[str, dict] = {"__metadata__": {"format": "pt"}}
    at, itemsize = 0, torch.empty((), dtype=dtype).element_size()
    for key, shape in shapes.items():
        size = itemsize * int(torch.Size(shape).numel())
        entries[prefix + key] = {
            "dtype": SAFETENSORS_DTYPES[dtype],
            "shape": list(shape),
            "data_offsets": [at, at + size],
        }
        at += size
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)  # the format pads the header to 8 bytes with spaces
    return struct.pack("<Q", len(header)) + header


def file_size(shapes: dict[str, tuple[int, ...]], dtype: torch.dtype) -> int:
    itemsize = torch.empty((), dtype=dtype).element_size()
    return len(safetensors_header(shapes, dtype)) + itemsize * sum(int(torch.Size(s).numel()) for s in shapes.values())


def write_random_checkpoint(path: Path, config: ModelConfig, dtype: torch.dtype = torch.bfloat16) -> Path:
    """Write (once) a checkpoint of ``config`` with random weights; returns its path."""
    shapes = model_shapes(config)
    size = file_size(shapes, dtype)
    if path.is_file() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    if free < size + (1 << 30):
        raise DiskSpaceError(
            f"the load benchmark writes a {size / 1e9:.1f} GB checkpoint to {path.parent}, which has"
            f" {free / 1e9:.1f} GB free; free some space or set NAVA_BENCH_CACHE to a roomier folder"
        )
    weights = RandomWeights(shapes)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        f.write(safetensors_header(shapes, dtype))
        for key in shapes:
            f.write(weights[key].to(dtype).view(torch.uint8).numpy().data)
        f.flush()
        os.fsync(f.fileno())
    partial.replace(path)
    return path


def read_once(path: Path) -> float:
    """Seconds to read the whole file into one reused buffer."""
    buffer = bytearray(READ_BLOCK)
    view = memoryview(buffer)
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.readinto(view):
            pass
    return time.perf_counter() - started


def measure_in_fresh_process(path: Path, config: ModelConfig) -> dict:
    """Run :func:`_child` in a new interpreter: the loader's peak memory is the process's own
    (a bf16 or an fp8 checkpoint: fp8 weights stay fp8, and are counted)."""
    spec = json.dumps(dataclasses.asdict(config))
    done = subprocess.run(
        [sys.executable, "-c", f"from bench.load import _child; _child({str(path)!r}, {spec!r})"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _child(path: str, config_json: str) -> None:
    from engine.weights import load_wan_av

    config = ModelConfig.from_dict(json.loads(config_json))
    before = status_kib("VmRSS") * 1024
    started = time.perf_counter()
    model = load_wan_av(path, config, dtype=torch.bfloat16)
    load_s = time.perf_counter() - started
    peak_after_load = status_kib("VmHWM") * 1024
    tensors = list(model.state_dict().values())
    started = time.perf_counter()
    for tensor in tensors:  # what a first forward does: every weight is read once
        tensor.view(torch.uint8).max()
    touch_s = time.perf_counter() - started
    print(
        json.dumps(
            {
                "load_s": load_s,
                "touch_s": touch_s,
                "tensor_bytes": sum(t.numel() * t.element_size() for t in tensors),
                "fp8_tensors": sum(1 for t in tensors if t.dtype == torch.float8_e4m3fn),
                "rss_before_bytes": before,
                "peak_rss_after_load_bytes": peak_after_load,
                "peak_rss_bytes": status_kib("VmHWM") * 1024,
            }
        )
    )


def run(config: ModelConfig | None = None) -> dict:
    """The load benchmark's results (writes the checkpoint first if the cache lacks it).

    ``config``: the model to write and load (default the released ``nava-6.3b``).
    """
    c = config or ModelConfig.preset("nava-6.3b")
    name = "nava-6.3b" if config is None else f"dim{c.dim}-{c.num_double_layers}x{c.num_single_layers}"
    path = CACHE / f"{name}-random-bf16.safetensors"
    started = time.perf_counter()
    write_random_checkpoint(path, c)
    written_s = time.perf_counter() - started
    read_once(path)  # warm the page cache as far as memory allows
    read_s = read_once(path)
    loaded = measure_in_fresh_process(path, c)
    peak, kept, ready_s = loaded["peak_rss_bytes"], loaded["tensor_bytes"], loaded["load_s"] + loaded["touch_s"]
    return {
        "checkpoint": str(path),
        "file_bytes": path.stat().st_size,
        "write_s": round(written_s, 2),
        "read_s": round(read_s, 3),
        "read_gb_per_s": round(path.stat().st_size / read_s / 1e9, 3),
        "load_s": round(loaded["load_s"], 3),
        "first_touch_s": round(loaded["touch_s"], 3),
        "tensor_bytes": kept,
        "rss_before_load_bytes": loaded["rss_before_bytes"],
        "peak_rss_after_load_bytes": loaded["peak_rss_after_load_bytes"],
        "peak_rss_bytes": peak,
        "load_peak_rss_ratio": round(peak / kept, 3),
        "load_time_vs_read_ratio": round(ready_s / read_s, 3),
        "note": (
            "the loader maps the file (safetensors: zero-copy when the file's dtype is the run dtype), so the"
            " weights become resident as they are first read: peak RSS and time are taken after the load AND one"
            " read of every weight (what the first forward does). Page cache cannot be dropped without root:"
            " the file is read once first, then the plain read and the load are both measured warm"
            " (as far as memory lets the cache hold the file)."
        ),
    }
