"""The fp8 DiT on the CPU: loading the full-size fp8 file, and a full-width forward against bf16.

``load``: a ``nava-6.3b`` checkpoint in the released fp8 format (``NAVA_fp8.safetensors``,
6.93 GB; random bytes: 380 float8_e4m3fn block weights with bf16 scales, the rest bf16) is
written once into the bench cache, tensor by tensor, then loaded by the engine's loader
(``engine.weights.load_wan_av``: fp8 weights stay fp8, the rest bf16) in a fresh process,
every tensor touched once; its peak RSS over the bytes of the tensors it keeps is the score
(target <= 1.15, as for the bf16 file).

``forward``: the model at full width (dim 3072, 24 heads, ffn 14336) with one double- and
one single-stream block, random bf16 weights, and the same model with its block linears
quantized (``engine.fp8.to_fp8``), run on the same small call (256x256, 5 frames, 1 s of
audio: 153 joint tokens, so it fits 2 cores). Time ratio fp8 / bf16 (best of a few
interleaved rounds) and the outputs' difference.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path

import torch

from bench.load import CACHE, DiskSpaceError, measure_in_fresh_process, model_shapes, read_once
from engine.config import ModelConfig
from engine.fp8 import FP8, fp8_keys, safetensors_prefix

FP8_NAN_FREE = 0x7E  # e4m3fn bytes 0x7F and 0xFF are NaN: random bytes stay below


def write_random_fp8_checkpoint(path: Path, config: ModelConfig) -> Path:
    shapes = {f"backbone.{k}": s for k, s in model_shapes(config).items()}
    layout = fp8_keys(shapes)
    prefix, data = safetensors_prefix(layout)
    total = len(prefix) + data
    if path.is_file() and path.stat().st_size == total:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(path.parent).free < total + (1 << 30):
        raise DiskSpaceError(f"the fp8 load benchmark writes {total / 1e9:.1f} GB to {path.parent}; free some space")
    generator = torch.Generator().manual_seed(0)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as f:
        f.write(prefix)
        for shape, dtype in layout.values():
            if dtype == FP8:
                tensor = torch.randint(0, FP8_NAN_FREE, shape, dtype=torch.uint8, generator=generator)
            else:
                tensor = (torch.rand(shape, generator=generator) * 0.02).to(torch.bfloat16).view(torch.uint8)
            f.write(tensor.reshape(-1).numpy().data)
        f.flush()
        os.fsync(f.fileno())
    partial.replace(path)
    return path


def load(config: ModelConfig | None = None) -> dict:
    c = config or ModelConfig.preset("nava-6.3b")
    name = "nava-6.3b" if config is None else f"dim{c.dim}-{c.num_double_layers}x{c.num_single_layers}"
    path = CACHE / f"{name}-random-fp8.safetensors"
    started = time.perf_counter()
    write_random_fp8_checkpoint(path, c)
    written_s = time.perf_counter() - started
    read_once(path)
    child = measure_in_fresh_process(path, c)
    return {
        "checkpoint": str(path),
        "file_bytes": path.stat().st_size,
        "write_s": round(written_s, 1),
        **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in child.items()},
        "fp8_load_peak_rss_ratio": round(child["peak_rss_bytes"] / child["tensor_bytes"], 3),
    }


CASES = ((256, 256), (512, 512))  # 153 and 537 joint tokens (5 frames, 1 s of audio)


def forward_cases(rounds: int = 3, config: ModelConfig | None = None, case=None) -> dict:
    """:func:`forward` at each of :data:`CASES` (or at ``case``): the headline numbers are the largest's."""
    from bench.forward import ForwardCase

    cases = [case] if case is not None else [ForwardCase(width=w, height=h) for w, h in CASES]
    runs = [forward(rounds, config, c) for c in cases]
    return {**runs[-1], "by_tokens": {str(r["tokens"]): {k: r[k] for k in ("bf16_s", "fp8_s", "fp8_forward_time_ratio",
            "fp8_forward_max_abs_diff")} for r in runs}}  # fmt: skip


def forward(rounds: int = 3, config: ModelConfig | None = None, case=None) -> dict:
    from bench.forward import ForwardCase, build_model, model_inputs, time_forward
    from engine.fp8 import to_fp8

    config = config or dataclasses.replace(ModelConfig.preset("nava-6.3b"), num_double_layers=1, num_single_layers=1)
    case = case or ForwardCase()
    bf16 = build_model(config)
    fp8 = build_model(config)
    quantized = to_fp8(fp8, quantize_loaded=True)
    inputs = model_inputs(bf16, case)
    with torch.inference_mode():
        want, got = bf16(**inputs), fp8(**inputs)
    times = {"bf16": [], "fp8": []}
    for _ in range(rounds):
        times["bf16"].append(time_forward(bf16, inputs))
        times["fp8"].append(time_forward(fp8, inputs))
    diffs = {}
    for name in ("video", "audio"):
        a, b = getattr(want, name).float(), getattr(got, name).float()
        diffs[name] = {"max_abs": round((a - b).abs().max().item(), 5), "max_abs_bf16_output": round(a.abs().max().item(), 4),
                       "relative_l2": round(((a - b).norm() / a.norm()).item(), 5)}  # fmt: skip
    best = {k: min(v) for k, v in times.items()}
    tokens = case.shape(config)
    return {
        "config": f"dim {config.dim}, ffn {config.ffn_dim}, {config.num_double_layers} double + "
        f"{config.num_single_layers} single block(s)",
        "tokens": tokens.video_len + tokens.audio_len,
        "quantized_linears": quantized,
        "bf16_s": round(best["bf16"], 4),
        "fp8_s": round(best["fp8"], 4),
        "fp8_forward_time_ratio": round(best["fp8"] / best["bf16"], 3),
        "fp8_forward_max_abs_diff": max(d["max_abs"] for d in diffs.values()),
        "difference": diffs,
        "note": "fp8 weights dequantized to bf16 per call (w.to(bf16) * scale): the same bf16 matmuls plus one"
        " conversion of every block weight per forward; at few tokens that conversion is a visible share.",
    }


def run(load_file: bool = True, rounds: int = 3, config: ModelConfig | None = None, case=None) -> dict:
    result = {"forward": forward_cases(rounds, config, case)}
    if load_file:
        result["load"] = load(config)
    for part in list(result.values()):
        for key in ("fp8_load_peak_rss_ratio", "fp8_forward_time_ratio", "fp8_forward_max_abs_diff"):
            if key in part:
                result[key] = part[key]
    return result
