"""What a render needs of a GPU, on paper: peak memory and time per step for a shot.

A sum of named parts, each a number read from the released files or measured here:

- weights on the GPU: the DiT (bf16 12.59 GB; fp8 6.93 GB: :mod:`engine.fp8`), the umt5-xxl
  text encoder (11.36 GB bf16), the Wan2.2 video VAE (1.35 GB in bf16), the LTX audio VAE and
  vocoder (0.7 GB, fp32), ReDimNet (0.02 GB); with ``encoders`` offload the text encoder
  and speaker model are on the GPU only while they encode (the DiT sits there meanwhile);
  with ``blocks`` the DiT's 30 blocks wait in host memory and two groups of ``group_size``
  are on the GPU at a time (:mod:`engine.offload`);
- activations: :data:`ACTIVATION_BYTES_PER_TOKEN` per joint token and guidance pass in one
  DiT call, measured by ``python -m bench.activations`` (a full-width block pair in bf16);
  the engine batches as many passes per call as half the free memory holds
  (:func:`engine.passes.tokens_per_call`), so the floor is one pass per call;
- the video decode: the VAE's working set at the top decoder level (256 channels at half the
  output size, 4 frames at a time, its causal caches) plus the decoded video twice (the
  frame-by-frame concatenation); tiled, the working set of one 256-pixel tile;
- the CUDA context and allocator slack: 1 GB.

The peak is the largest of three phases: encoding (text encoder on the GPU), denoising,
decoding. Time per step is the DiT's FLOPs (:mod:`bench.flops` counts them; here the
6.3B model's per-token cost) over the GPU's bf16 rate at :data:`MFU` (calibrated on the
reference's 1 s/step on 8 H100s), fp8 adding the reference's measured 10 % for dequantizing,
or, with block offload, the host-to-GPU copies of the blocks per call when those take longer
(the copies overlap the compute).

No torch import: ``plan`` calls this for every shot.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1e9
DIT_BYTES = {"bf16": 12_593_991_040, "fp8": 6_934_691_200}
BLOCK_BYTES = {  # one double-stream / single-stream block
    "bf16": (2 * 239_209_472, 2 * 163_656_704),
    "fp8": (239_476_736, 163_819_520),
}
NUM_BLOCKS = (10, 20)  # double, single
TEXT_ENCODER_BYTES = 11_361_140_736  # umt5-xxl encoder, bf16
SPEAKER_BYTES = 20_000_000
VIDEO_VAE_BYTES = 1_350_000_000  # Wan2.2 VAE (2.7 GB fp32 file) in bf16
AUDIO_VAE_BYTES = 700_000_000  # LTX-2.3 audio VAE + vocoder, fp32
CONTEXT_BYTES = 1_000_000_000  # CUDA context, cuBLAS workspace, allocator slack
ACTIVATION_BYTES_PER_TOKEN = 293_576  # measured: python -m bench.activations (bf16, dim 3072)
DECODE_CHANNELS = 256  # the Wan2.2 decoder's top level
DECODE_LIVE = 12  # tensors of [256, 4 frames, H/2, W/2] alive at once in the top level (resnets + caches)
TILE = 256  # diffusers' Wan tiling: 256-pixel tiles
PASSES = 4  # COND, UNCOND, ALIGN, TIMBRE (3 without voices)
MFU = 0.26  # the reference: 3 passes (its example prompts carry no voices) of 0.69 PFLOP per step in 1 s on 8 H100s
FP8_SLOWDOWN = 1.10  # the reference: "~10% slower per step than bf16"
FLOPS_PER_TOKEN_PASS = 2.757e15 / (4 * 32_712)  # bench.gpu_paper: a 720p 6 s step, 4 passes
ATTENTION_SHARE = 0.57  # of those FLOPs, the part that grows with the sequence (q k^T, p v)
OFFLOADS = ("none", "encoders", "blocks")


@dataclass(frozen=True)
class Gpu:
    name: str
    memory: int  # bytes
    bf16_tflops: float  # dense tensor-core rate
    host_to_device_gb_s: float  # pinned copies


CARDS = (
    Gpu("24 GB (RTX 4090)", 24 * 2**30, 165.0, 20.0),
    Gpu("48 GB (RTX 6000 Ada / L40S)", 48 * 2**30, 362.0, 20.0),
    Gpu("80 GB (H100 SXM)", 80 * 2**30, 989.4, 25.0),
)


@dataclass(frozen=True)
class Shot:
    width: int = 1280
    height: int = 704
    frames: int = 145  # 4k + 1 at 24 fps

    @property
    def tokens(self) -> int:
        """Joint tokens of one pass: video (16x VAE, 2x2 patches) + audio (25/s)."""
        latent_frames = (self.frames - 1) // 4 + 1
        video = latent_frames * -(-self.height // 32) * -(-self.width // 32)
        return video + -(-self.frames * 25 // 24)


@dataclass(frozen=True)
class Estimate:
    dit: str
    offload: str
    tiling: bool
    encode: int  # bytes at each phase's peak
    denoise: int
    decode: int
    passes_per_call: int

    @property
    def peak(self) -> int:
        return max(self.encode, self.denoise, self.decode)

    def as_dict(self) -> dict:
        return {"dit": self.dit, "offload": self.offload, "vae_tiling": self.tiling,
                "peak_gb": round(self.peak / GB, 1), "encode_gb": round(self.encode / GB, 1),
                "denoise_gb": round(self.denoise / GB, 1), "decode_gb": round(self.decode / GB, 1),
                "passes_per_call": self.passes_per_call}  # fmt: skip


def dit_resident(dit: str, offload: str, group_size: int = 2) -> int:
    """DiT bytes on the GPU while it denoises."""
    if offload != "blocks":
        return DIT_BYTES[dit]
    double, single = BLOCK_BYTES[dit]
    blocks = [double] * NUM_BLOCKS[0] + [single] * NUM_BLOCKS[1]
    rest = DIT_BYTES[dit] - sum(blocks)
    groups = [sum(blocks[i : i + group_size]) for i in range(0, len(blocks), group_size)]
    biggest_pair = max(a + b for a, b in zip(groups, groups[1:] + groups[:1]))
    return rest + biggest_pair


def decode_bytes(shot: Shot, tiling: bool) -> int:
    """The video decode's working set plus the decoded video (bf16)."""
    h, w = (min(TILE, shot.height), min(TILE, shot.width)) if tiling else (shot.height, shot.width)
    working = DECODE_LIVE * DECODE_CHANNELS * 4 * (h // 2) * (w // 2) * 2
    video = 2 * 3 * shot.frames * shot.height * shot.width * 2
    return working + video


def estimate(
    dit: str,
    offload: str,
    tiling: bool,
    shot: Shot = Shot(),
    *,
    gpu_memory: int | None = None,
    group_size: int = 2,
    passes: int = PASSES,
    sequence_parallel: int = 1,
) -> Estimate:
    """Peak GPU memory of one shot. ``gpu_memory``: the card's size, to count the passes the
    engine would batch per call (None: one, the floor); ``sequence_parallel``: GPUs one DiT
    call is split over (each holds its share of the tokens)."""
    if offload not in OFFLOADS:
        raise ValueError(f"offload must be one of {', '.join(OFFLOADS)}")
    vaes = VIDEO_VAE_BYTES + AUDIO_VAE_BYTES
    encoders = TEXT_ENCODER_BYTES + SPEAKER_BYTES
    dit_bytes = dit_resident(dit, offload, group_size)
    always = vaes + CONTEXT_BYTES + (0 if offload != "none" else encoders)
    per_pass = -(-shot.tokens // sequence_parallel) * ACTIVATION_BYTES_PER_TOKEN
    resident = dit_bytes + always
    per_call = 1
    if gpu_memory is not None:
        per_call = max(1, min(passes, int(0.5 * max(0, gpu_memory - resident) // per_pass)))
    encode = dit_bytes + vaes + CONTEXT_BYTES + encoders
    denoise = resident + per_call * per_pass
    decode = dit_bytes + always + decode_bytes(shot, tiling)
    return Estimate(dit, offload, tiling, encode, denoise, decode, per_call)


def step_seconds(est: Estimate, gpu: Gpu, shot: Shot = Shot(), passes: int = PASSES, group_size: int = 2,
                 sequence_parallel: int = 1) -> float:  # fmt: skip
    """Seconds per denoising step: compute (or, with block offload, the copies, when longer)."""
    scale = shot.tokens / 32_712
    flops = passes * 32_712 * FLOPS_PER_TOKEN_PASS * scale * (1 - ATTENTION_SHARE + ATTENTION_SHARE * scale)
    compute = flops / sequence_parallel / (gpu.bf16_tflops * 1e12 * MFU)
    if est.dit == "fp8":
        compute *= FP8_SLOWDOWN
    if est.offload != "blocks":
        return compute
    calls = -(-passes // est.passes_per_call)
    copies = calls * (DIT_BYTES[est.dit] - _non_block_bytes(est.dit)) / (gpu.host_to_device_gb_s * GB)
    return max(compute, copies)


def _non_block_bytes(dit: str) -> int:
    return DIT_BYTES[dit] - sum(b * n for b, n in zip(BLOCK_BYTES[dit], NUM_BLOCKS))


def choose_offload(dit: str, tiling: bool, shot: Shot, free: int, margin: float = 0.95) -> str:
    """``auto``: the least offload whose peak fits ``margin`` of the free memory (else ``blocks``)."""
    for mode in OFFLOADS:
        if estimate(dit, mode, tiling, shot).peak <= margin * free:
            return mode
    return "blocks"
