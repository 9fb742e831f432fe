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
        "memory": memory(),
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


# The reference README's own figures: 704x1280, 37 latent frames (145 frames), 50 steps,
# 8 H100s with sequence parallel (its group-offload script runs 2 ranks, group size 10).
REFERENCE = (
    dict(name="baseline (scripts/inference.sh)", dit="bf16", offload="none", tiling=False, sp=8, group=2,
         gb=(80, 80), s_per_step=1.0),
    dict(name="T5 offload (inference_offload_t5.sh)", dit="bf16", offload="encoders", tiling=False, sp=8, group=2,
         gb=(48, 48), s_per_step=1.0),
    dict(name="fp8 + T5 offload + tiling (inference_fp8.sh)", dit="fp8", offload="encoders", tiling=True, sp=8,
         group=2, gb=(18, 28), s_per_step=1.1),
    dict(name="group offload + T5 offload + tiling (inference_group_offload_t5.sh)", dit="bf16", offload="blocks",
         tiling=True, sp=8, group=10, gb=(42, 42), s_per_step=3.5),
)  # fmt: skip
H100_REFERENCE = "H100 SXM (the reference's group offload implies ~12 GB/s host copies)"


def memory() -> dict:
    """The estimator (engine.gpu_memory) against the reference's figures, and what a 6 s 720p
    shot needs on 24, 48 and 80 GB cards with the options ``auto`` picks."""
    from engine.gpu_memory import CARDS, GB, Gpu, Shot, choose_offload, estimate, step_seconds
    from engine.dit_choice import BF16_MIN_GPU_BYTES

    shot = Shot(1280, 704, 145)
    h100 = Gpu(H100_REFERENCE, 80 * 2**30, 989.4, 12.0)
    checks = []
    for ref in REFERENCE:
        passes = 3  # its example prompts carry no voices: no TIMBRE pass
        est = estimate(ref["dit"], ref["offload"], ref["tiling"], shot, group_size=ref["group"],
                       passes=passes, sequence_parallel=ref["sp"])  # fmt: skip
        seconds = step_seconds(est, h100, shot, passes=passes, group_size=ref["group"], sequence_parallel=ref["sp"])
        checks.append({
            "reference": ref["name"],
            "reference_peak_gb": ref["gb"][0] if ref["gb"][0] == ref["gb"][1] else list(ref["gb"]),
            "estimate_peak_gb": round(est.peak / GB, 1),
            "estimate_over_reference": round(est.peak / GB / ref["gb"][1], 2),
            "reference_s_per_step": ref["s_per_step"],
            "estimate_s_per_step": round(seconds, 2),
        })  # fmt: skip
    cards = []
    for gpu in CARDS:
        dit = "bf16" if gpu.memory >= BF16_MIN_GPU_BYTES else "fp8"
        tiling = gpu.memory < 48 * 2**30
        offload = choose_offload(dit, tiling, shot, gpu.memory)
        est = estimate(dit, offload, tiling, shot, gpu_memory=gpu.memory)
        per_step = step_seconds(est, gpu, shot)
        options = {
            f"{d}/{o}{'/tiled' if t else ''}": round(estimate(d, o, t, shot).peak / GB, 1)
            for d in ("bf16", "fp8") for o in ("none", "encoders", "blocks") for t in (False, True)
        }  # fmt: skip
        cards.append({
            "gpu": gpu.name,
            "auto": {"dit": dit, "offload": offload, "vae_tiling": tiling},
            "expected_peak_gb": round(est.peak / GB, 1),
            "passes_per_call": est.passes_per_call,
            "s_per_step": round(per_step, 1),
            "shot_minutes_50_steps": round(50 * per_step / 60, 1),
            "peak_gb_by_option_one_pass_per_call": options,
        })  # fmt: skip
    return {
        "shot": {"width": shot.width, "height": shot.height, "frames": shot.frames, "tokens_per_pass": shot.tokens},
        "reference_check": checks,
        "cards": cards,
        "note": (
            "estimates are for this engine (engine.gpu_memory: weights + measured activations per token + decode);"
            " the reference's figures are for its own code at sequence parallel 8, which holds more per GPU"
            " (its 80/48/42 GB are 1.8-2.3x these estimates; its fp8 18-28 GB range holds the estimate)."
            " Times: MFU 0.26 is calibrated on its baseline 1 s/step and fp8's 10 % on its 1.1 s/step; the"
            " group-offload time (host copies of the blocks, 3 calls per step at ~12 GB/s) is the one"
            " prediction, against its 3.5 s/step. Card times assume 4 passes (a shot with voices), one GPU,"
            " and the rates in engine.gpu_memory.CARDS."
        ),
    }
