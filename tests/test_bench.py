"""The benchmark harness: the analytic FLOP count, the hand-written checkpoint, the JSON.

Nothing here times anything: the numbers are the benchmarks' business.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from torch.utils.flop_counter import FlopCounterMode

from bench.flops import CROSS_ATTN, SELF_ATTN, ForwardShape, forward_matmuls, total_flops
from bench.gpu_paper import run as gpu_paper
from bench.load import write_random_checkpoint
from engine.config import ModelConfig
from engine.model import WanAVModel
from engine.weights import CheckpointFile, load_wan_av
from tests.conftest import ROOT

TINY = ModelConfig.preset("tiny")
SHAPE = ForwardShape(video_grid=(2, 2, 3), audio_len=5)  # 12 video + 5 audio tokens


def hand_count(c: ModelConfig, lv: int, la: int) -> int:
    """One forward of ``c`` over lv video and la audio tokens, counted term by term."""
    d, f, lt, L = c.dim, c.ffn_dim, c.text_len, lv + la
    mm = lambda m, k, n: 2 * m * k * n  # noqa: E731
    hidden = 256  # the audio conv MLP of a 64-wide model: 256 * ceil(int(2 * 256 / 3) / 256)
    embeddings = (
        mm(lt, c.text_dim, d)
        + mm(lt, d, d)  # text
        + mm(lv, c.vid_in_dim * 4, d)  # 1x2x2 patches
        + mm(la, 7 * c.audio_in_dim, d)
        + 2 * mm(la, 7 * d, hidden)
        + mm(la, 7 * hidden, d)  # audio convs
        + mm(L, c.freq_dim, d)
        + mm(L, d, d)
        + mm(L, d, 6 * d)  # per-token time embedding
    )
    attention = 2 * mm(L, c.head_dim, L) * c.num_heads  # q k^T and p v over the joint sequence
    cross = 2 * mm(L, c.head_dim, lt) * c.num_heads
    common = 4 * mm(L, d, d) + 2 * mm(L, d, d) + attention + cross + mm(L, d, f) + mm(L, f, d)
    double = common + 2 * 2 * mm(lt, d, d)  # the text's k and v with video and with audio weights
    single = common + 2 * mm(lt, d, d)
    heads = mm(lv, d, 4 * c.vid_out_dim) + mm(la, d, c.audio_out_dim)
    return embeddings + c.num_double_layers * double + c.num_single_layers * single + heads


def test_flop_count_matches_a_hand_count():
    assert total_flops(forward_matmuls(TINY, SHAPE)) == hand_count(TINY, 12, 5) == 12_579_840


def test_flop_count_of_the_products_matches_torchs_counter_on_the_real_model():
    """torch's FlopCounterMode sees every Linear/conv GEMM of a real forward (not CPU SDPA)."""
    torch.manual_seed(0)
    model = WanAVModel(TINY).eval()
    video, audio = torch.randn(1, TINY.vid_in_dim, 2, 4, 6), torch.randn(1, 5, TINY.audio_in_dim)
    t = torch.tensor([500.0])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(video, audio, t, t, torch.randn(1, 10, TINY.text_dim))
    products = [m for m in forward_matmuls(TINY, SHAPE) if m.group not in (SELF_ATTN, CROSS_ATTN)]
    assert counter.get_total_flops() == total_flops(products)


def test_the_align_pass_counts_its_self_attention_per_modality():
    def self_attention(shape):
        return sum(m.flops for m in forward_matmuls(TINY, shape) if m.group == SELF_ATTN)

    masked = ForwardShape(video_grid=(2, 2, 3), audio_len=5, modality_mask=True)
    blocks = TINY.num_double_layers + TINY.num_single_layers
    assert self_attention(SHAPE) == blocks * 4 * 17 * 17 * TINY.dim
    assert self_attention(masked) == blocks * 4 * (12 * 12 + 5 * 5) * TINY.dim


def test_gpu_paper_uses_the_designs_token_counts():
    paper = gpu_paper()
    assert paper["tokens"]["video"] == 32_560  # docs/engine.md: 1280x704 -> 44x80 latents -> 32,560 tokens
    assert paper["clip"]["latent_frames"] == 37
    assert paper["flops_per_render"] == 50 * sum(paper["flops_per_pass"].values())
    assert set(paper["flops_per_pass"]) == {"cond", "uncond", "align", "timbre"}


def test_the_hand_written_checkpoint_loads_with_the_engines_loader(tmp_path):
    path = write_random_checkpoint(tmp_path / "tiny.safetensors", TINY)
    checkpoint = CheckpointFile(path)
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in WanAVModel(TINY).state_dict().items()}
    assert checkpoint.shapes() == expected
    with safe_open(path, framework="pt") as raw:
        assert sorted(raw.keys()) == sorted(f"backbone.{key}" for key in expected)
    model = load_wan_av(path, TINY, dtype=torch.bfloat16)
    assert model.double_blocks[0].ffn[0].weight.dtype == torch.bfloat16
    assert model.double_blocks[0].ffn[0].weight.abs().max() > 0


@pytest.mark.slow
def test_json_output_has_every_key(tmp_path):
    env = {**os.environ, "NAVA_BENCH_CACHE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    for key in (
        "load_peak_rss_ratio",
        "load_time_vs_read_ratio",
        "forward_vs_matmul_flops_ratio",
        "rerender_noop_50_shots_s",
        "join_copy_vs_reencode_speedup",
        "fp8_load_peak_rss_ratio",
        "fp8_forward_time_ratio",
        "fp8_forward_max_abs_diff",
        "review_open_50x3_s",
        "checks_total_s_per_footage_s",
    ):
        assert isinstance(result[key], float), key
    assert result["details"]["fp8"]["load"]["fp8_tensors"] == 56  # the tiny model's block linears
    assert result["details"]["checks"]["checks_status"]["speech"] == "pass"  # the bench's take speaks
    assert result["rerender_noop_engine_calls"] == 0
    assert result["details"]["review"]["clips_fetched_on_open"] == 0  # the takes' videos load when played
    assert result["rerender_edit_one_shot_rendered"] == len(result["details"]["rerender"]["edited_chain"]) == 3
    assert result["details"]["join"]["copied_frames"] == result["details"]["join"]["film_frames"]
    assert result["gpu_paper"]["tokens"]["video"] == 32_560
    assert [c["auto"]["dit"] for c in result["gpu_paper"]["memory"]["cards"]] == ["fp8", "bf16", "bf16"]
    assert {"cpu", "cores", "ram_gib", "torch"} <= set(result["machine"])
