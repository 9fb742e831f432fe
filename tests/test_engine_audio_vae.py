"""The LTX-2.3 audio VAE + vocoder against the original code (fixtures/components/ltx_audio_tiny*)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from engine.audio_vae import (
    RELEASE_TO_VAE,
    RELEASE_TO_VOCODER,
    TINY_RELEASE_CONFIG,
    VAE_TO_RELEASE,
    VOCODER_TO_RELEASE,
    AudioVAE,
    stft_bases,
)
from engine.errors import WeightsError
from engine.mel import slaney_filterbank
from tests.conftest import COMPONENTS

ATOL = 1e-4  # the fixture's fp32 CPU tolerance
FILE = COMPONENTS / "ltx_audio_tiny.safetensors"


@pytest.fixture(scope="module")
def io() -> dict[str, torch.Tensor]:
    return load_file(COMPONENTS / "ltx_audio_tiny_io.safetensors")


@pytest.fixture(scope="module")
def audio() -> AudioVAE:
    return AudioVAE.from_file(FILE)


@pytest.fixture(scope="module")
def described() -> dict:
    return json.loads((COMPONENTS / "ltx_audio_tiny.json").read_text())


def test_mel_front_end_matches_reference(audio, io):
    torch.testing.assert_close(audio.mel(io["in.wave"]), io["out.mel"], atol=ATOL, rtol=0)


def test_encode_gives_normalised_channel_major_tokens(audio, io):
    tokens = audio.encode(io["in.wave"])
    assert tokens.shape == (1, 26, 128)
    torch.testing.assert_close(tokens[0], io["out.latent_tokens"], atol=ATOL, rtol=0)


def test_decode_stages_match_reference(audio, io):
    tokens = io["out.latent_tokens"][None]
    torch.testing.assert_close(audio.decode_mel(tokens), io["out.mel_recon"], atol=ATOL, rtol=0)
    torch.testing.assert_close(audio.vocode_16k(io["out.mel_recon"]), io["out.wave_16k"], atol=ATOL, rtol=0)
    wave = audio.decode(tokens)
    assert wave.shape == (1, 2, 48480) and audio.output_rate == 48000
    torch.testing.assert_close(wave, io["out.wave_48k"], atol=ATOL, rtol=0)


def test_the_16k_stage_clamps_like_the_original(audio, io):
    assert audio.vocoder.vocoder.config.final_act_fn == "clamp"
    unclamped = io["aux.wave_16k_no_final_clamp"]
    assert unclamped.abs().max() > 1  # the fixture exercises the clamp
    torch.testing.assert_close(io["out.wave_16k"], unclamped.clamp(-1, 1), atol=ATOL, rtol=0)


def test_statistics_are_sized_from_the_file(audio):
    assert audio.vae.config.base_channels == 16
    assert audio.vae.latents_mean.shape == (128,) and audio.token_dim == 128


def test_bf16_keeps_the_bandwidth_extension_in_float32(io):
    audio = AudioVAE.from_file(FILE, dtype=torch.bfloat16)
    assert next(audio.vae.parameters()).dtype == torch.bfloat16
    assert next(audio.vocoder.vocoder.parameters()).dtype == torch.bfloat16
    assert {p.dtype for p in audio.vocoder.bwe_generator.parameters()} == {torch.float32}
    wave = audio.vocode(io["out.mel_recon"])
    assert wave.dtype == torch.float32 and wave.shape == io["out.wave_48k"].shape
    assert (wave - io["out.wave_48k"]).abs().mean() < 0.05


def test_key_maps_match_the_verified_mapping_both_ways(described):
    for key, entry in described["checkpoint_keys"].items():
        for target, mapped in entry["diffusers_key"].items():
            if target == "AutoencoderKLLTX2Audio":
                assert RELEASE_TO_VAE.rename(key) == mapped and VAE_TO_RELEASE.rename(mapped) == key
            elif target == "LTX2VocoderWithBWE":
                assert RELEASE_TO_VOCODER.rename(key) == mapped and VOCODER_TO_RELEASE.rename(mapped) == key


def test_written_release_file_round_trips(tmp_path, io):
    torch.manual_seed(0)
    tiny = AudioVAE.from_config(TINY_RELEASE_CONFIG)
    path = tmp_path / "audio_vae.safetensors"
    tiny.save_release(path)
    with safe_open(path, "pt") as f, safe_open(FILE, "pt") as reference:
        assert set(f.keys()) == set(reference.keys())
        assert json.loads(f.metadata()["config"]) == json.loads(reference.metadata()["config"])
    again = AudioVAE.from_file(path)
    for loaded, written in ((again.vae, tiny.vae), (again.vocoder, tiny.vocoder)):
        state = loaded.state_dict()
        for key, value in written.state_dict().items():
            torch.testing.assert_close(state[key], value.bfloat16().float(), atol=0, rtol=0)
    assert again.decode(io["out.latent_tokens"][None]).shape == (1, 2, 48480)


def test_dsp_buffers_of_a_fresh_model_are_the_release_constants():
    with safe_open(FILE, "pt") as f:
        forward = f.get_tensor("vocoder.mel_stft.stft_fn.forward_basis").float()
        mel = f.get_tensor("vocoder.mel_stft.mel_basis").float()
    torch.testing.assert_close(stft_bases(512, 80)[0], forward, atol=4e-3, rtol=0)  # file is bf16
    torch.testing.assert_close(slaney_filterbank(16000, 512, 64).T, mel, atol=1e-4, rtol=0)


def test_mono_and_other_rates_are_accepted(audio, io):
    mono = io["in.wave"][:, 0]
    tokens = audio.encode(mono)
    torch.testing.assert_close(audio.mel(mono)[:, 0], audio.mel(mono)[:, 1])
    assert tokens.shape == (1, 26, 128)
    assert audio.encode(torch.zeros(1, 2, 48000), sample_rate=48000).shape == (1, 26, 128)


@pytest.mark.parametrize("seconds, tokens", [(1.0, 25), (2.0, 50), (6.04, 151), (0.5, 13)])
def test_token_counts(audio, seconds, tokens):
    assert audio.tokens_for(seconds) == tokens


def test_bad_files_are_weights_errors(tmp_path):
    with pytest.raises(WeightsError, match="no file"):
        AudioVAE.from_file(tmp_path / "missing.safetensors")
    save_file({"x": torch.zeros(1)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(WeightsError, match="'config'"):
        AudioVAE.from_file(tmp_path / "plain.safetensors")
    state = load_file(FILE)
    del state["vocoder.vocoder.conv_pre.weight"]
    with safe_open(FILE, "pt") as f:
        save_file(state, str(tmp_path / "cut.safetensors"), metadata=f.metadata())
    with pytest.raises(WeightsError, match="missing: vocoder.conv_in.weight"):
        AudioVAE.from_file(tmp_path / "cut.safetensors")
