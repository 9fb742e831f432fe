"""Activation memory of the DiT's forward per joint token, measured on the CPU.

A full-width model (dim 3072, 24 heads, ffn 14336) with one double-stream and one
single-stream block, bf16 random weights, runs one forward (one guidance pass, with a
speaker row) at two token counts, each in a fresh process; the peak resident memory above
the loaded model, divided by the tokens, over the difference of the two, is the bytes each
joint token adds at the widest point of a block (the block's temporaries, the per-token
modulation ``e0``, RoPE in float64). The forward is the same code on a GPU (attention there
is flash-attn's, which keeps no L x L scores; so does the CPU's SDPA kernel for an unmasked
call), so :mod:`engine.gpu_memory` uses this number for its activation term.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from engine.config import ModelConfig

GRIDS = ((1, 16, 32), (1, 32, 32))  # latent frames x (height / 2) x (width / 2): 512 and 1,024 video tokens
AUDIO_TOKENS = 25


def _child(grid: list[int]) -> None:
    import torch

    from bench.forward import build_model
    from engine.model import SpeakerSlots

    def kib(field: str) -> int:
        return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field + ":"))

    config = dataclasses.replace(ModelConfig.preset("nava-6.3b"), num_double_layers=1, num_single_layers=1)
    model = build_model(config)
    f, h, w = grid
    g = torch.Generator().manual_seed(0)
    video = torch.randn(1, config.vid_in_dim, f, 2 * h, 2 * w, generator=g)
    audio = torch.randn(1, AUDIO_TOKENS, config.audio_in_dim, generator=g)
    context = torch.randn(1, 120, config.text_dim, generator=g)
    t = torch.tensor([500])
    speaker = SpeakerSlots(torch.randn(1, 1, 192, generator=g), torch.tensor([[3]]))
    for tensor in model.state_dict().values():  # every weight resident before the baseline
        tensor.view(torch.uint8).max()
    before = kib("VmRSS")
    with torch.no_grad():
        model(video, audio, t, t, context, speaker)
    print(json.dumps({"tokens": f * h * w + AUDIO_TOKENS, "before": before * 1024, "peak": kib("VmHWM") * 1024}))


def run() -> dict:
    root = Path(__file__).resolve().parents[1]
    points = []
    for grid in GRIDS:
        done = subprocess.run(
            [sys.executable, "-c", f"from bench.activations import _child; _child({list(grid)})"],
            capture_output=True, text=True, check=True, cwd=root,
        )  # fmt: skip
        points.append(json.loads(done.stdout.strip().splitlines()[-1]))
    (a, b) = points
    per_token = ((b["peak"] - b["before"]) - (a["peak"] - a["before"])) / (b["tokens"] - a["tokens"])
    return {"points": points, "activation_bytes_per_token": round(per_token)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
