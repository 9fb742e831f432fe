"""The fp8 weight-only DiT: the released format, its layer, the streaming quantizer."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.config import ModelConfig
from engine.fp8 import FP8Linear, dequantize, fp8_keys, is_quantized, quantize, quantize_file
from engine.model import SpeakerSlots, WanAVModel
from engine.safetensors_header import read_header
from engine.weights import load_wan_av

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"


def test_the_released_format_for_the_6b_model():
    """380 block linears in fp8 (+ 380 scales), everything else bf16: about 7 GB."""
    params = json.loads((FIXTURES / "nava_6b_params.json").read_text())["params"]
    shapes = {f"backbone.{k}": tuple(v) for k, v in params.items()}
    layout = fp8_keys(shapes)
    fp8 = [k for k, (_, dtype) in layout.items() if dtype == torch.float8_e4m3fn]
    assert len(shapes) == 1052 and len(fp8) == 380 and len(layout) == 1052 + 380
    assert "backbone.double_blocks.0.self_attn.q_audio.weight" in fp8
    assert "backbone.single_blocks.19.ffn.2.weight" in fp8
    assert layout["backbone.double_blocks.0.self_attn.q.weight_scale"] == ((3072,), torch.bfloat16)
    assert not is_quantized("backbone.double_blocks.0.self_attn.norm_q.weight", (3072,))
    assert not is_quantized("backbone.double_blocks.0.modulation.modulation", (1, 6, 3072))
    assert not is_quantized("backbone.text_embedding.0.weight", (3072, 4096))
    size = sum(math.prod(shape) * torch.empty((), dtype=dtype).element_size() for shape, dtype in layout.values())
    assert 6.9e9 < size < 7.0e9  # the release's "~7 GB"


def test_quantize_is_per_row_symmetric_and_within_half_an_fp8_step():
    weight = torch.randn(64, 96) * torch.logspace(-3, 1, 64)[:, None]  # rows of very different scales
    q, scale = quantize(weight)
    assert q.dtype == torch.float8_e4m3fn and scale.dtype == torch.bfloat16 and scale.shape == (64,)
    back = dequantize(q, scale, torch.float32)
    rel = ((back - weight).abs() / weight.abs().amax(dim=1, keepdim=True)).max()
    assert rel < 2**-4 + 2**-7  # e4m3: 3 mantissa bits (half a step at the row max) + the bf16 scale's rounding
    layer = torch.nn.Linear(96, 64)
    fp8 = FP8Linear.from_linear(layer)
    x = torch.randn(5, 96)
    expected = torch.nn.functional.linear(x, dequantize(fp8.weight, fp8.weight_scale, torch.float32), layer.bias)
    assert torch.equal(fp8(x), expected)


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("fp8")
    torch.manual_seed(0)
    model = WanAVModel(ModelConfig.preset("tiny"))
    save_file({f"backbone.{k}": v.contiguous() for k, v in model.state_dict().items()}, str(folder / "NAVA.safetensors"),
              metadata={"config": "tiny"})  # fmt: skip
    stats = quantize_file(folder / "NAVA.safetensors", folder / "NAVA_fp8.safetensors")
    return folder, stats


def test_quantize_file_writes_the_format_and_keeps_the_metadata(tiny_files):
    folder, stats = tiny_files
    header = read_header(folder / "NAVA_fp8.safetensors")
    assert header.metadata["config"] == "tiny"
    assert stats["quantized_linears"] == 2 * 18 + 2 * 10  # tiny: 2 double + 2 single blocks
    assert header.dtypes() == {"F8_E4M3": 56, "BF16": stats["tensors_out"] - 56}
    assert header.tensors["backbone.single_blocks.1.ffn.0.weight_scale"].dtype == "BF16"
    assert (folder / "NAVA_fp8.safetensors").stat().st_size == header.expected_size
    assert not (folder / "NAVA_fp8.safetensors.partial").exists()


def test_the_fp8_model_keeps_its_weights_in_fp8_and_follows_the_bf16_model(tiny_files):
    """Measured on this tiny random model (seeds 0-2): relative L2 of the outputs against the same
    model in bf16 1.1-1.3e-2 (video) and 3.1-3.6e-2 (audio); bf16 itself is 0.7e-2 / 0.9e-2 off
    fp32. Bound: 5e-2."""
    folder, _ = tiny_files
    config = ModelConfig.preset("tiny")
    bf16 = load_wan_av(folder / "NAVA.safetensors", config, dtype=torch.bfloat16)
    fp8 = load_wan_av(folder / "NAVA_fp8.safetensors", config, dtype=torch.bfloat16)
    q = fp8.double_blocks[0].self_attn.q
    assert isinstance(q, FP8Linear) and q.weight.dtype == torch.float8_e4m3fn and q.bias.dtype == torch.bfloat16
    assert fp8.patch_embedding.weight.dtype == torch.bfloat16 and fp8.dtype == torch.bfloat16
    generator = torch.Generator().manual_seed(1)
    video = torch.randn(2, config.vid_in_dim, 3, 4, 4, generator=generator)
    audio = torch.randn(2, 10, config.audio_in_dim, generator=generator)
    context = torch.randn(2, 12, config.text_dim, generator=generator)
    t = torch.tensor([700, 300])
    speaker = SpeakerSlots(torch.randn(2, 1, 192, generator=generator), torch.tensor([[3], [-1]]))
    with torch.no_grad():
        want = bf16(video, audio, t, t, context, speaker, torch.tensor([False, True]))
        got = fp8(video, audio, t, t, context, speaker, torch.tensor([False, True]))
    for name in ("video", "audio"):
        a, b = getattr(want, name).float(), getattr(got, name).float()
        rel = ((a - b).norm() / a.norm()).item()
        assert 1e-3 < rel < 5e-2, (name, rel)  # not identical (it is quantized), and close


def test_an_fp8_file_is_refused_as_input_and_a_bf16_weight_in_an_fp8_slot_is_named(tiny_files, tmp_path):
    from engine.errors import WeightsError

    folder, _ = tiny_files
    with pytest.raises(WeightsError, match="already in the fp8 format"):
        quantize_file(folder / "NAVA_fp8.safetensors", tmp_path / "again.safetensors")


def test_quantize_file_streams_a_torch_zip_checkpoint_too(tiny_files, tmp_path):
    from safetensors.torch import load_file

    folder, _ = tiny_files
    state = load_file(folder / "NAVA.safetensors")
    torch.save({"state_dict": state}, tmp_path / "NAVA.ckpt")
    quantize_file(tmp_path / "NAVA.ckpt", tmp_path / "from_ckpt.safetensors")
    a, b = load_file(folder / "NAVA_fp8.safetensors"), load_file(tmp_path / "from_ckpt.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k].view(torch.uint8), b[k].view(torch.uint8)) for k in a)


QUANTIZE_IN_CHILD = """
import json, sys, torch
from engine.fp8 import quantize_file
def kib(field):
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(field + ':'))
torch.empty(1).float()  # torch's own start-up allocations before the baseline
before = kib('VmRSS')
quantize_file(sys.argv[1], sys.argv[2])
print(json.dumps({'before': before * 1024, 'peak': kib('VmHWM') * 1024}))
"""


def test_quantize_file_peak_memory_is_far_below_the_files_size(tmp_path):
    """A 1.06 GB bf16 checkpoint of 12 full-width FFN weights (14336 x 3072 and its transpose,
    88 MB each in bf16) and their biases: the quantizer's peak RSS above its start stays under a
    quarter of the file (measured: 155 MB, 0.15 of the file: the largest tensor, its fp8 copy
    and 4 M-element fp32 blocks)."""
    from bench.load import safetensors_header

    shapes = {}
    for i in range(6):
        shapes[f"backbone.single_blocks.{i}.ffn.0.weight"] = (14336, 3072)
        shapes[f"backbone.single_blocks.{i}.ffn.0.bias"] = (14336,)
        shapes[f"backbone.single_blocks.{i}.ffn.2.weight"] = (3072, 14336)
    source = tmp_path / "big.safetensors"
    with source.open("wb") as f:
        f.write(safetensors_header(shapes, torch.bfloat16, prefix=""))
        generator = torch.Generator().manual_seed(0)
        for shape in shapes.values():
            f.write(torch.randn(shape, generator=generator).to(torch.bfloat16).view(torch.uint8).numpy().data)
    size = source.stat().st_size
    done = subprocess.run([sys.executable, "-c", QUANTIZE_IN_CHILD, str(source), str(tmp_path / "out.safetensors")],
                          capture_output=True, text=True, cwd=ROOT, check=True, timeout=300)  # fmt: skip
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert size > 400e6
    assert (measured["peak"] - measured["before"]) < 0.25 * size, measured
    assert read_header(tmp_path / "out.safetensors").dtypes() == {"F8_E4M3": 12, "BF16": 18}
