"""The whole engine on a tiny model: from the released file layout to a clip with sound."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from engine.errors import EngineError, WeightsError
from engine.lengths import audio_samples, audio_tokens, fit_audio, frames_for_seconds, latent_frames
from engine.make_tiny_weights import make_tiny_weights
from engine.pipeline import GenerateRequest, NAVAPipeline, weights_id

PROMPT = "A woman in a red coat says <S>We should have left an hour ago.<E> Rain on the pavement."


@pytest.mark.parametrize("seconds", range(1, 11))
def test_lengths_follow_the_design(seconds):
    frames = frames_for_seconds(seconds)
    assert (frames - 1) % 4 == 0 and abs(frames / 24 - seconds) <= 2 / 24
    assert latent_frames(frames) == (frames - 1) // 4 + 1
    assert audio_tokens(frames) == math.ceil(frames / 24 * 25)
    assert audio_samples(frames) == frames * 2000  # exactly frames / 24 s at 48 kHz


def test_known_lengths():
    assert latent_frames(145) == 37 and audio_tokens(145) == 152  # the design's 6 s example
    assert frames_for_seconds(0.75) == 21 and frames_for_seconds(1.25) == 33  # halves round up, as the plan does
    with pytest.raises(ValueError, match="4k \\+ 1"):
        latent_frames(120)
    wave = np.ones((2, 10), np.float32)
    assert fit_audio(wave, 4).shape == (2, 4)
    padded = fit_audio(wave, 12)
    assert padded.shape == (2, 12) and not padded[:, 10:].any()


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_tiny_weights(tmp_path_factory.mktemp("weights") / "nava")


@pytest.fixture(scope="module")
def pipeline(weights):
    return NAVAPipeline.from_pretrained(weights)


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    import soundfile

    path = tmp_path_factory.mktemp("voices") / "voice.wav"
    t = np.arange(24_000) / 24_000
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 180 * t) * np.sin(2 * np.pi * 3 * t)).astype(np.float32), 24_000)
    return path


def test_tiny_weights_are_small_and_in_the_released_layout(weights):
    size = sum(f.stat().st_size for f in weights.rglob("*") if f.is_file())
    assert size < 20e6
    assert (weights / "NAVA.safetensors").is_file()
    assert (weights / "Wan2.2-TI2V-5B" / "Wan2.2_VAE.pth").is_file()
    assert (weights / "params" / "LTX2" / "ltx-2.3-22b-dev_audio_vae.safetensors").is_file()
    assert (weights / "M-vb2+vox2+cnc-ft_mix.pt").is_file()  # no --hub-dir: where `weights download` puts it


def test_generate_gives_frames_and_exactly_timed_stereo_audio(pipeline, voice):
    steps = []
    clip = pipeline.generate(
        GenerateRequest(PROMPT, [voice], width=64, height=32, frames=25, steps=2, seed=1,
                        progress=lambda done, total, what: steps.append((done, total, what)))
    )  # fmt: skip
    assert clip.frames.shape == (25, 32, 64, 3) and clip.frames.dtype == np.uint8
    assert clip.sample_rate == 48_000 and clip.fps == 24
    assert clip.audio.shape == (2, 25 * 48_000 // 24) and clip.audio.dtype == np.float32
    assert np.isclose(np.abs(clip.audio).max(), 0.95)
    assert steps == [(1, 2, "denoising"), (2, 2, "denoising")]


def test_seed_makes_it_deterministic(pipeline):
    request = GenerateRequest("Waves on a beach.", width=64, height=32, frames=5, steps=1, seed=3)
    a, b = pipeline.generate(request), pipeline.generate(request)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
    other = pipeline.generate(GenerateRequest("Waves on a beach.", width=64, height=32, frames=5, steps=1, seed=4))
    assert not np.array_equal(a.frames, other.frames)


def test_first_frame_conditioning_and_size_cropping(pipeline):
    first = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    request = GenerateRequest(PROMPT, [None], width=56, height=40, frames=9, steps=2, first_frame=first)
    clip = pipeline.generate(request)  # rendered at 64x64, cropped back to 56x40
    assert clip.frames.shape == (9, 40, 56, 3)
    drifted = pipeline.generate(GenerateRequest(**{**request.__dict__, "reimpose_first_frame": False}))
    assert not np.array_equal(clip.frames[0], drifted.frames[0])  # the clean frame put back on the latent


def test_the_first_frame_is_placed_at_scale_one_where_the_crop_takes_it_back():
    from engine.pipeline import _generation_size, fit_image

    frame = np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    generation = _generation_size(56, 40)
    placed = fit_image(frame, (56, 40), generation)
    assert placed.shape == (64, 64, 3)
    top, left = (64 - 40) // 2, (64 - 56) // 2
    assert np.array_equal(placed[top : top + 40, left : left + 56], frame)  # the decode's crop: the frame itself
    assert np.array_equal(placed[0, left : left + 56], frame[0])  # edges repeated, not a zoomed copy
    still = np.random.default_rng(2).integers(0, 256, (300, 200, 3), dtype=np.uint8)  # any size: covers the request
    assert fit_image(still, (56, 40), generation).shape == (64, 64, 3)


def test_offloaded_encoders_visit_the_device_only_to_encode(weights, monkeypatch):
    import engine.pipeline as pipeline_module

    moves = []
    real = pipeline_module._on

    def recording(module, device, offload):
        moves.append((type(module).__name__, str(device), offload))
        return real(module, device, offload)

    monkeypatch.setattr(pipeline_module, "_on", recording)
    offloading = NAVAPipeline.from_pretrained(weights, offload=True)
    assert next(offloading.text_encoder.model.parameters()).device.type == "cpu"  # waits on the CPU
    offloading.generate(GenerateRequest(PROMPT, [None], width=64, height=32, frames=5, steps=1))
    assert [(name, offload) for name, _, offload in moves] == [("UMT5EncoderModel", True), ("ReDimNet", True)]
    assert next(offloading.speaker.model.parameters()).device.type == "cpu"  # and is back there after


def test_bad_requests_are_engine_errors(pipeline, voice):
    with pytest.raises(EngineError, match="2 voices for 1 speech span"):
        pipeline.generate(GenerateRequest(PROMPT, [voice, voice], width=64, height=32, frames=5, steps=1))
    with pytest.raises(EngineError, match="4k \\+ 1"):
        pipeline.generate(GenerateRequest(PROMPT, width=64, height=32, frames=24, steps=1))


def test_missing_components_are_named_in_one_error(weights, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(weights, partial)
    (partial / "NAVA.safetensors").unlink()
    shutil.rmtree(partial / "params" / "LTX2")
    with pytest.raises(WeightsError) as caught:
        NAVAPipeline.from_pretrained(partial)
    message = str(caught.value)
    assert "NAVA.safetensors or NAVA.ckpt" in message and "ltx-2.3-22b-dev_audio_vae.safetensors" in message
    assert "Wan2.2_VAE.pth" not in message


def test_weights_id_is_cheap_and_follows_the_files(weights, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(weights, copy)
    assert weights_id(copy) == weights_id(weights)
    with (copy / "M-vb2+vox2+cnc-ft_mix.pt").open("r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    assert weights_id(copy) != weights_id(weights)


def test_precision_follows_device_and_size():
    import torch

    from engine.pipeline import choose_dtype

    assert choose_dtype(torch.device("cpu"), 10_000_000) == torch.float32
    assert choose_dtype(torch.device("cpu"), 6_296_995_520) == torch.bfloat16  # fp32 would need 25 GB
    assert choose_dtype(torch.device("cuda"), 10_000_000) == torch.bfloat16


def test_bf16_run_with_tiled_decode(weights):
    import torch

    pipeline = NAVAPipeline.from_pretrained(weights, dtype=torch.bfloat16, vae_tiling=True)
    assert pipeline.dit.dtype == torch.bfloat16
    clip = pipeline.generate(GenerateRequest(PROMPT, [None], width=64, height=32, frames=9, steps=1))
    assert clip.frames.shape == (9, 32, 64, 3) and clip.audio.shape == (2, 18_000)
    assert np.isfinite(clip.audio).all() and np.isclose(np.abs(clip.audio).max(), 0.95)


def test_the_guidance_follows_the_mode_unless_given(pipeline, monkeypatch):
    import engine.passes
    from engine.guidance import GuidanceScales

    seen = []
    real = engine.passes.GuidedPasses

    class Recording(real):
        def __init__(self, model, conditioning, scales, **kwargs):
            seen.append(scales)
            super().__init__(model, conditioning, scales, **kwargs)

    monkeypatch.setattr(engine.passes, "GuidedPasses", Recording)
    first = np.zeros((32, 64, 3), np.uint8)
    pipeline.generate(GenerateRequest("Waves.", width=64, height=32, frames=5, steps=1))
    pipeline.generate(GenerateRequest("Waves.", width=64, height=32, frames=5, steps=1, first_frame=first))
    given = GuidanceScales(s_v=5.0)
    pipeline.generate(GenerateRequest("Waves.", width=64, height=32, frames=5, steps=1, first_frame=first, guidance=given))
    assert seen == [GuidanceScales.for_mode(False), GuidanceScales.for_mode(True), given]


def test_the_release_layout_with_the_fp8_dit_renders(tmp_path, monkeypatch):
    """make_tiny_weights --fp8 --hub-dir: both DiT files, ReDimNet in torch.hub's cache."""
    import torch

    from engine.fp8 import FP8Linear

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = make_tiny_weights(tmp_path / "W", fp8=True, hub_dir=tmp_path / "torch" / "hub" / "checkpoints")
    assert not (weights / "M-vb2+vox2+cnc-ft_mix.pt").exists()
    fp8 = NAVAPipeline.from_pretrained(weights, dit="fp8", dtype=torch.bfloat16, offload="blocks")
    assert fp8.files.dit.name == "NAVA_fp8.safetensors" and fp8.files.dit_why == "--dit fp8"
    assert isinstance(fp8.dit.single_blocks[0].ffn[0], FP8Linear)
    assert fp8.block_offload is None  # on the CPU the blocks have nowhere else to wait
    bf16 = NAVAPipeline.from_pretrained(weights, dtype=torch.bfloat16)
    assert bf16.files.dit.name == "NAVA.safetensors" and bf16.files.speaker.parent.name == "checkpoints"
    request = GenerateRequest(PROMPT, [None], width=64, height=32, frames=5, steps=1, seed=2)
    a, b = fp8.generate(request), bf16.generate(request)
    assert a.frames.shape == b.frames.shape == (5, 32, 64, 3)
    assert 0 < np.abs(a.frames.astype(int) - b.frames.astype(int)).mean() < 64  # close, not the same weights
