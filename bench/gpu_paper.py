"""On paper: what a full-size render costs on one GPU at its bf16 peak.

A 1280x704 clip of 145 frames (37 latent frames, ~6 s) with its audio, 50 sampling steps,
four guidance passes per step (COND, UNCOND, ALIGN, TIMBRE: docs/engine.md, "Guidance"). The FLOPs come
from :mod:`bench.flops`; the ALIGN pass's block-diagonal self-attention is counted per
segment (flash-attn's varlen kernel skips the masked blocks). The text encoder, speaker
model and VAEs are not counted (a few percent next to the DiT). The time at peak is the
floor a GPU run is compared against: no real run reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.flops import ForwardShape, flops_by_group, forward_matmuls, total_flops
from engine.config import ModelConfig
from engine.lengths import audio_tokens, latent_frames


@dataclass(frozen=True)
class Gpu:
    name: str
    bf16_dense_tflops: float  # tensor-core peak without sparsity
    memory_gb: float
    bandwidth_tb_s: float


GPUS = (
    Gpu("H100 SXM", 989.4, 80, 3.35),
    Gpu("H200 SXM", 989.4, 141, 4.8),  # the H100's compute with more, faster memory
)
PASSES = {"cond": dict(speakers=2), "uncond": {}, "align": dict(modality_mask=True), "timbre": {}}


def run(width: int = 1280, height: int = 704, frames: int = 145, steps: int = 50, preset: str = "nava-6.3b") -> dict:
    config = ModelConfig.preset(preset)
    shapes = {
        name: ForwardShape.for_clip(config, width, height, latent_frames(frames), audio_tokens(frames), **extra)
        for name, extra in PASSES.items()
    }
    per_pass = {name: total_flops(forward_matmuls(config, shape)) for name, shape in shapes.items()}
    per_step = sum(per_pass.values())
    per_render = steps * per_step
    weight_bytes = 2 * sum(_parameter_count(config))
    cond = shapes["cond"]
    return {
        "clip": {
            "width": width,
            "height": height,
            "frames": frames,
            "latent_frames": latent_frames(frames),
            "seconds": round(frames / 24, 3),
        },
        "tokens": {"video": cond.video_len, "audio": cond.audio_len, "joint": cond.total_len, "text": config.text_len},
        "flops_per_forward": per_pass["cond"],
        "flops_per_forward_by_group": flops_by_group(forward_matmuls(config, cond)),
        "flops_per_pass": per_pass,
        "passes_per_step": len(PASSES),
        "steps": steps,
        "flops_per_step": per_step,
        "flops_per_render": per_render,
        "weights_bf16_bytes": weight_bytes,
        "gpus": {
            gpu.name: {
                "bf16_dense_tflops": gpu.bf16_dense_tflops,
                "forward_s_at_peak": round(per_pass["cond"] / (gpu.bf16_dense_tflops * 1e12), 4),
                "render_s_at_peak": round(per_render / (gpu.bf16_dense_tflops * 1e12), 1),
                "memory_gb": gpu.memory_gb,
                "weights_read_per_forward_s": round(weight_bytes / (gpu.bandwidth_tb_s * 1e12), 5),
            }
            for gpu in GPUS
        },
        "note": (
            "compute-bound: one forward does ~{:.0f} FLOPs per weight byte read, so both GPUs have the same"
            " floor; the H200's larger, faster memory changes only how much fits in one call (the 12.6 GB of"
            " bf16 weights fit either). Text encoder, speaker model and VAEs not counted."
        ).format(per_pass["cond"] / weight_bytes),
    }


def _parameter_count(config: ModelConfig):
    import torch

    from engine.model import WanAVModel

    with torch.device("meta"):
        model = WanAVModel(config)
    return (p.numel() for p in model.parameters())
