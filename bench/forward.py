"""One full-size denoising forward on the CPU against a bare matmul of the same shapes.

The model is built on the meta device and given random bf16 weights through the engine's
own loader (``load_state``: LayerNorm affines stay fp32, as with a real checkpoint). One
forward at a small size (256x256, 5 frames, 1 s of audio by default) is timed; its FLOPs
come from :mod:`bench.flops`. The same run times ``torch.matmul`` on every product shape
of that count, in bf16: the sum of those times is what the forward would take if it were
nothing but its matrix products at the speed this machine gives them. The ratio of the two
is the score (target >= 0.7). Both are the best of a few interleaved rounds, so that a
busy machine slows both alike, and both are measured with every core and with one: on a
machine whose cores are shared with other work, a parallel region waits for its slowest
thread and one thread can be faster. Each side gets its best thread count (the machine's
matmul FLOP/s is the best it reaches); ``by_threads`` has both.

``--quick`` runs the same at full width (dim 3072, 24 heads, ffn 14336) with one
double-stream and one single-stream block.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch

from bench.flops import ForwardShape, Matmul, flops_by_group, forward_matmuls, total_flops
from engine.config import ModelConfig
from engine.lengths import latent_frames
from engine.model import SpeakerSlots, WanAVModel
from engine.weights import load_state

DTYPE = torch.bfloat16


@dataclass(frozen=True)
class ForwardCase:
    """The size of the benchmarked call: one clip, one guidance pass (COND, with speakers)."""

    width: int = 256
    height: int = 256
    frames: int = 5
    audio_tokens: int = 25  # 1 s
    text_tokens: int = 120  # the prompt's true length (padded to text_len by the model)
    speakers: int = 2

    def shape(self, config: ModelConfig) -> ForwardShape:
        return ForwardShape.for_clip(
            config, self.width, self.height, latent_frames(self.frames), self.audio_tokens, speakers=self.speakers
        )


class RandomWeights(Mapping):
    """Random tensors by key, made one at a time as the loader asks for them (std 1/sqrt(fan_in))."""

    def __init__(self, shapes: Mapping[str, tuple[int, ...]], seed: int = 0):
        self.shapes = dict(shapes)
        self.generator = torch.Generator().manual_seed(seed)

    def __getitem__(self, key: str) -> torch.Tensor:
        shape = self.shapes[key]
        fan_in = shape[-1] if len(shape) < 2 else int(torch.Size(shape[1:]).numel())
        bound = (3 / fan_in) ** 0.5
        return torch.empty(shape, dtype=DTYPE).uniform_(-bound, bound, generator=self.generator)

    def __iter__(self) -> Iterator[str]:
        return iter(self.shapes)

    def __len__(self) -> int:
        return len(self.shapes)


def build_model(config: ModelConfig) -> WanAVModel:
    """The model in bf16 with random weights; no full-size copy is ever made."""
    with torch.device("meta"):
        model = WanAVModel(config)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return load_state(model, RandomWeights(shapes), dtype=DTYPE, shapes=shapes).eval()


def model_inputs(model: WanAVModel, case: ForwardCase) -> dict:
    c, shape = model.config, case.shape(model.config)
    f, h, w = shape.video_grid
    _, q, r = c.patch_size
    generator = torch.Generator().manual_seed(1)
    video = torch.randn(1, c.vid_in_dim, f, h * q, w * r, generator=generator)
    t = torch.tensor([500.0])
    return dict(
        video=video,
        audio=torch.randn(1, shape.audio_len, c.audio_in_dim, generator=generator),
        t_video=model.video_timesteps(t, video, clean_first_frame=True),
        t_audio=t,
        context=torch.randn(1, case.text_tokens, c.text_dim, generator=generator),
        speaker=SpeakerSlots(torch.randn(1, case.speakers, c.speaker_dim), torch.arange(case.speakers)[None] + 3),
    )


def time_forward(model: WanAVModel, inputs: dict) -> float:
    started = time.perf_counter()
    with torch.inference_mode():
        model(**inputs)
    return time.perf_counter() - started


class MatmulBaseline:
    """Bare ``torch.matmul`` on every product shape of the count, with the operands' layout
    of a Linear (``x @ W^T``); the time of one forward's worth of them."""

    def __init__(self, terms: list[Matmul]):
        self.counts: dict[tuple[int, int, int, int], int] = {}
        for term in terms:
            self.counts[term.shape] = self.counts.get(term.shape, 0) + term.count
        self.best: dict[tuple[int, int, int, int], float] = {}

    def run_once(self, repeats: int = 3) -> float:
        """Time each shape ``repeats`` times (after a warm-up the first time); the best per shape is kept."""
        total = 0.0
        for shape, count in self.counts.items():
            batch, m, k, n = shape
            a = torch.randn(batch, m, k, dtype=DTYPE).squeeze(0)
            b = torch.randn(batch, n, k, dtype=DTYPE).squeeze(0)
            if shape not in self.best:
                torch.matmul(a, b.mT)
            for _ in range(repeats):
                started = time.perf_counter()
                torch.matmul(a, b.mT)
                elapsed = time.perf_counter() - started
                self.best[shape] = min(elapsed, self.best.get(shape, elapsed))
            total += self.best[shape] * count
        return total


def profile_forward(model: WanAVModel, inputs: dict) -> dict[str, float]:
    """Self time of the forward's operators by kind (s): GEMMs, attention, the rest."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
        model(**inputs)
    by_kind: dict[str, float] = {}
    by_op: dict[str, float] = {}
    for event in prof.key_averages():
        seconds = event.self_cpu_time_total / 1e6
        if seconds <= 0:
            continue
        by_kind[_kind(event.key)] = by_kind.get(_kind(event.key), 0.0) + seconds
        by_op[event.key] = seconds
    top = dict(sorted(by_op.items(), key=lambda kv: -kv[1])[:8])
    return {
        "by_kind_s": {k: round(v, 4) for k, v in by_kind.items()},
        "top_ops_s": {k: round(v, 4) for k, v in top.items()},
    }


def _kind(op: str) -> str:
    if "attention" in op:
        return "attention"
    if any(name in op for name in ("mm", "matmul", "linear", "convolution")):
        return "GEMMs"
    return "norms / elementwise / copies"


def thread_counts() -> tuple[int, ...]:
    """The harness's thread count (``--threads``, default every core) and one thread."""
    return tuple(dict.fromkeys((torch.get_num_threads(), 1)))


def run(
    quick: bool = False, case: ForwardCase = ForwardCase(), rounds: int = 3, config: ModelConfig | None = None
) -> dict:
    """The forward benchmark's results (a JSON-able dict)."""
    if config is None:
        config = ModelConfig.preset("nava-6.3b")
        if quick:
            config = dataclasses.replace(config, num_double_layers=1, num_single_layers=1)
    started = time.perf_counter()
    model = build_model(config)
    build_s = time.perf_counter() - started
    inputs = model_inputs(model, case)
    terms = forward_matmuls(config, case.shape(config))
    flops = total_flops(terms)
    counts = thread_counts()
    baselines = {n: MatmulBaseline(terms) for n in counts}
    best = {n: {"forward_s": float("inf"), "matmul_s": float("inf")} for n in counts}
    time_forward(model, inputs)  # warm-up: first-call allocations and kernel selection
    for _ in range(rounds):  # interleaved, so that load from elsewhere slows both alike
        for n in counts:
            torch.set_num_threads(n)
            best[n]["forward_s"] = min(best[n]["forward_s"], time_forward(model, inputs))
            best[n]["matmul_s"] = min(best[n]["matmul_s"], baselines[n].run_once())
    forward_s = min(b["forward_s"] for b in best.values())
    matmul_s = min(b["matmul_s"] for b in best.values())
    torch.set_num_threads(1)  # where the time goes, without other processes' share of the cores mixed in
    profile = {"threads": 1, **profile_forward(model, inputs)}
    torch.set_num_threads(counts[0])
    return {
        "config": {
            "dim": config.dim,
            "heads": config.num_heads,
            "ffn_dim": config.ffn_dim,
            "double_blocks": config.num_double_layers,
            "single_blocks": config.num_single_layers,
        },
        "case": dataclasses.asdict(case),
        "tokens": {
            "video": case.shape(config).video_len,
            "audio": case.shape(config).audio_len,
            "text": config.text_len,
        },
        "dtype": str(DTYPE).removeprefix("torch."),
        "threads": counts,
        "build_s": round(build_s, 2),
        "flops": flops,
        "flops_by_group": flops_by_group(terms),
        "forward_s": round(forward_s, 4),
        "forward_tflops": round(flops / forward_s / 1e12, 4),
        "matmul_s": round(matmul_s, 4),
        "matmul_tflops": round(flops / matmul_s / 1e12, 4),
        "forward_vs_matmul_flops_ratio": round(matmul_s / forward_s, 3),
        "by_threads": {
            str(n): {**{k: round(v, 4) for k, v in b.items()}, "ratio": round(b["matmul_s"] / b["forward_s"], 3)}
            for n, b in best.items()
        },
        "profile": profile,
    }
