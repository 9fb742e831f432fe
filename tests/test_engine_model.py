"""WanAVModel against the reference: key map, all eight modes, intermediates, batching."""

from __future__ import annotations

import json

import pytest
import torch

from engine.config import ModelConfig
from engine.errors import EngineError
from engine.model import SpeakerSlots, WanAVModel
from engine.model.blocks import AttentionWeights
from engine.parity import BF16_REL_L2, FP32_ATOL, MODES, ParityFixture
from tests.conftest import SHARED_FIXTURES


@pytest.fixture(scope="module")
def fixture() -> ParityFixture:
    return ParityFixture(SHARED_FIXTURES / "nava_tiny_parity.safetensors")


@pytest.fixture(scope="module")
def fp32(fixture):
    return fixture.model(torch.float32)


@pytest.fixture(scope="module")
def bf16(fixture):
    return fixture.model(torch.bfloat16)


def rel_l2(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.float() - want).norm() / want.norm())


def reference_attention(q, k, v, segment_ids=None):
    """The fixture's attention emulation: bf16 q/k/v, fp32 scores/softmax/accumulation, rounded output."""
    q32, k32, v32 = (t.float().transpose(1, 2) for t in (q, k, v))
    scores = q32 @ k32.transpose(-1, -2) / q.shape[-1] ** 0.5
    if segment_ids is not None:
        scores = scores.masked_fill(segment_ids[:, None, :, None] != segment_ids[:, None, None, :], float("-inf"))
    return (scores.softmax(-1) @ v32).transpose(1, 2).to(q.dtype)


def test_state_dict_is_the_released_checkpoints():
    reference = json.loads((SHARED_FIXTURES / "nava_6b_params.json").read_text())
    with torch.device("meta"):
        model = WanAVModel(ModelConfig.preset("nava-6.3b"))
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == reference["params"]
    assert len(reference["params"]) == 1052
    assert sum(p.numel() for p in model.parameters()) == reference["num_params"] == 6_296_995_520


def test_fixture_config_is_the_tiny_preset(fixture):
    assert fixture.config == ModelConfig.preset("tiny")
    assert set(fixture.modes) == set(MODES)
    assert {mode: fixture.call(mode) for mode in fixture.modes} == MODES  # read from the json's own words


@pytest.mark.parametrize("mode", list(MODES))
def test_mode_fp32(fixture, fp32, mode):
    outputs = fixture.outputs(fixture.run(fp32, mode))
    assert set(outputs) == {k.split(".")[-1] for k in fixture.tensors if k.startswith(f"out.{mode}.")}
    for name, got in outputs.items():
        torch.testing.assert_close(got, fixture.tensors[f"out.{mode}.{name}"], rtol=0, atol=FP32_ATOL)


@pytest.mark.parametrize("mode", list(MODES))
def test_mode_bf16(fixture, bf16, mode):
    for name, got in fixture.outputs(fixture.run(bf16, mode)).items():
        assert rel_l2(got, fixture.tensors[f"out_bf16.{mode}.{name}"]) < BF16_REL_L2


def test_bf16_dtype_flow_matches_the_reference_rounding(fixture, bf16, monkeypatch):
    """With the fixture's attention emulation the bf16 run lands (nearly) bit for bit on the reference."""
    monkeypatch.setattr(AttentionWeights, "attend", staticmethod(reference_attention))
    for mode in MODES:
        prediction = fixture.run(bf16, mode)
        assert all(v.dtype == torch.bfloat16 for v in prediction if v is not None)
        for name, got in fixture.outputs(prediction).items():
            assert rel_l2(got, fixture.tensors[f"out_bf16.{mode}.{name}"]) < 2e-3, (mode, name)
    for name, got in intermediates(fixture, bf16).items():
        if name != "speaker_token_real":  # the reference keeps that one in fp32 (its LayerNorm output)
            assert rel_l2(got, fixture.tensors[f"int_bf16.{name}"]) < 2e-3, name


def intermediates(fixture: ParityFixture, model: WanAVModel) -> dict[str, torch.Tensor]:
    """Every ``int.*`` quantity of the fixture, computed by the model's own pieces."""
    x = fixture.tensors
    video, audio, t, context = x["in.vid"][None], x["in.audio"][None], x["in.t"], x["in.context"][None]
    speaker = SpeakerSlots(x["in.spk_embed"][None], x["in.spk_pos"])
    got: dict[str, torch.Tensor] = {}
    blocks = [(f"double_blocks.{i}", b) for i, b in enumerate(model.double_blocks)]
    blocks += [(f"single_blocks.{i}", b) for i, b in enumerate(model.single_blocks)]
    hooks = [
        block.register_forward_hook(lambda _m, _i, out, name=name: got.__setitem__(f"cond_spk.{name}.out", out))
        for name, block in blocks
    ]
    try:
        with torch.no_grad():
            got["cond_spk.x_vid_embed"] = model.patch_embedding(video)
            got["cond_spk.x_audio_embed"] = model.patch_embedding_audio(audio)
            got["cond_spk.e_vid"], got["cond_spk.e0_vid"] = model.embed_time(t, got["cond_spk.x_vid_embed"].shape[1])
            got["cond_spk.e_audio"], got["cond_spk.e0_audio"] = model.embed_time(t, audio.shape[1])
            got["i2v.e_vid"], got["i2v.e0_vid"] = model.embed_time(model.video_timesteps(t, video, True), 18)
            got["cond_spk.context_vid_embedded"] = model.embed_context(context)
            got["cond_spk.context_audio_embedded_with_spk"] = model.embed_context(context, speaker)
            got["speaker_token_real"] = model.speaker_embedding(x["in.spk_embed"])
            got["speaker_token_zero_input"] = model.speaker_embedding(torch.zeros_like(x["in.spk_embed"]))
            got["grid_sizes_vid"] = torch.tensor([model.video_grid(video)], dtype=torch.float32)
            model(video, audio, t, t, context, speaker=speaker)
    finally:
        for hook in hooks:
            hook.remove()
    return got


def test_intermediates_fp32(fixture, fp32):
    got = intermediates(fixture, fp32)
    expected = {k.removeprefix("int.") for k in fixture.tensors if k.startswith("int.")}
    assert set(got) == expected
    for name, value in got.items():
        torch.testing.assert_close(value, fixture.tensors[f"int.{name}"], rtol=0, atol=1e-5, msg=name)


def test_batched_passes_equal_single_calls(fixture, fp32):
    """COND, ALIGN (masked, no speaker rows) and UNCOND (no speaker) in one batch, as the sampler runs them."""
    x = fixture.tensors
    video, audio, t, context = x["in.vid"][None], x["in.audio"][None], x["in.t"], x["in.context"][None]
    embedding = x["in.spk_embed"][None]
    speaker = SpeakerSlots(embedding.expand(3, -1, -1), torch.tensor([[3], [-1], [-1]]))
    with torch.no_grad():
        batched = fp32(
            video.expand(3, -1, -1, -1, -1),
            audio.expand(3, -1, -1),
            fp32.video_timesteps(t.expand(3), video, clean_first_frame=True),
            t.expand(3),
            context.expand(3, -1, -1),
            speaker=speaker,
            modality_mask=torch.tensor([False, True, False]),
        )
        t_video = fp32.video_timesteps(t, video, clean_first_frame=True)
        singles = [
            fp32(video, audio, t_video, t, context, speaker=SpeakerSlots(embedding, x["in.spk_pos"])),
            fp32(video, audio, t_video, t, context, modality_mask=True),
            fp32(video, audio, t_video, t, context),
        ]
    for i, single in enumerate(singles):
        torch.testing.assert_close(batched.video[i : i + 1], single.video, rtol=0, atol=1e-5)
        torch.testing.assert_close(batched.audio[i : i + 1], single.audio, rtol=0, atol=1e-5)
    torch.testing.assert_close(singles[0].video, fixture.tensors["out.i2v_spk.video"][None], rtol=0, atol=FP32_ATOL)


def test_several_speaker_slots(fixture, fp32):
    x = fixture.tensors
    real = x["in.spk_embed"][0]
    slots = SpeakerSlots(torch.stack([real, torch.zeros_like(real), real])[None], torch.tensor([[2, 5, -1]]))
    with torch.no_grad():
        context = fp32.embed_context(x["in.context"][None], slots)
        plain = fp32.embed_context(x["in.context"][None])
        token = fp32.speaker_embedding(real)
    torch.testing.assert_close(context[0, 2], token)
    torch.testing.assert_close(context[0, 5], fp32.speaker_embedding.null_token[0])
    untouched = [i for i in range(context.shape[1]) if i not in (2, 5)]
    assert torch.equal(context[0, untouched], plain[0, untouched])


def test_missing_timesteps_is_an_error(fixture, fp32):
    x = fixture.tensors
    with pytest.raises(ValueError, match="t_audio"):
        fp32(None, x["in.audio"][None], None, None, x["in.context"][None])


def test_config_from_dict_rejects_what_the_model_cannot_be(fixture):
    config = dict(fixture.meta["config"])
    with pytest.raises(EngineError, match="no_split_norm_ffn"):
        ModelConfig.from_dict({**config, "no_split_norm_ffn": False})
    with pytest.raises(EngineError, match="unknown key 'dimm'"):
        ModelConfig.from_dict({**config, "dimm": 3})
    with pytest.raises(EngineError, match="num_layers"):
        ModelConfig.from_dict({**config, "num_layers": 5})
    with pytest.raises(EngineError, match="unknown model preset"):
        ModelConfig.preset("nava-60b")
