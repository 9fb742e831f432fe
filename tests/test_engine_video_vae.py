"""The Wan2.2 video VAE loader against the original code's outputs (fixtures/components/wan22_vae_tiny.*)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from engine.checkpoints import read_state_dict
from engine.errors import WeightsError
from engine.video_vae import ORIGINAL_TO_DIFFUSERS, VideoVAE, to_original
from tests.conftest import COMPONENTS

ATOL = 1e-4  # the fixture's suggested tolerance
PTH = COMPONENTS / "wan22_vae_tiny.pth"


@pytest.fixture(scope="module")
def io() -> dict[str, torch.Tensor]:
    return load_file(COMPONENTS / "wan22_vae_tiny.safetensors")


@pytest.fixture(scope="module")
def vae() -> VideoVAE:
    return VideoVAE.from_file(PTH)


def test_config_is_read_from_the_file(vae):
    config = vae.model.config
    assert (config.base_dim, config.decoder_base_dim, config.z_dim) == (4, 8, 4)
    assert config.temperal_downsample == [False, True, True]
    assert config.patch_size == 2 and config.in_channels == 12


def test_encode_matches_reference(vae, io):
    latent = vae.encode(io["in.video"])
    assert latent.shape == (1, 4, 2, 4, 4)
    torch.testing.assert_close(latent, io["out.latent"], atol=ATOL, rtol=0)


def test_single_image_encode_matches_reference(vae, io):
    torch.testing.assert_close(vae.encode_image(io["in.image"][:, :, 0]), io["out.image_latent"], atol=ATOL, rtol=0)


def test_encode_is_causal(vae, io):
    torch.testing.assert_close(vae.encode(io["in.video"][:, :, :1]), vae.encode(io["in.video"])[:, :, :1])


def test_decode_matches_reference(vae, io):
    video = vae.decode(io["out.latent"])
    assert video.shape == (1, 3, 5, 64, 64)
    torch.testing.assert_close(video, io["out.recon"], atol=ATOL, rtol=0)


def test_normalisation_uses_the_wan22_constants(vae, io):
    torch.testing.assert_close(vae._mean.flatten(), io["in.latents_mean"])
    torch.testing.assert_close(1 / vae._inv_std.flatten(), io["in.latents_std"])


def test_key_map_matches_the_verified_mapping_both_ways():
    described = json.loads((COMPONENTS / "wan22_vae_tiny.json").read_text())["state_dict"]
    for original, entry in described.items():
        assert ORIGINAL_TO_DIFFUSERS.rename(original) == entry["diffusers_key"]
    mapped = {entry["diffusers_key"]: torch.zeros(()) for entry in described.values()}
    assert set(to_original(mapped, num_res_blocks=2)) == set(described)


def test_written_release_file_round_trips(tmp_path, io):
    torch.manual_seed(0)
    tiny = VideoVAE.from_config({"base_dim": 4, "decoder_base_dim": 8, "z_dim": 4})
    path = tmp_path / "Wan2.2_VAE.pth"
    tiny.save_original(path)
    assert set(read_state_dict(path, "vae")) == set(read_state_dict(PTH, "vae"))
    again = VideoVAE.from_file(path)
    torch.testing.assert_close(again.encode(io["in.video"]), tiny.encode(io["in.video"]))


def test_tiled_decode_keeps_the_shape(io):
    vae = VideoVAE.from_file(PTH)
    vae.enable_tiling(tile=64, stride=48)
    latent = torch.cat([io["out.latent"]] * 2, dim=-1)  # 4x8 latent -> 64x128 pixels, three tiles wide
    video = vae.decode(latent)
    assert video.shape == (1, 3, 5, 64, 128)
    assert video.abs().max() <= 1.0


def test_missing_file_is_a_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="no file"):
        VideoVAE.from_file(tmp_path / "Wan2.2_VAE.pth")


def test_wrong_component_is_a_weights_error():
    with pytest.raises(WeightsError, match="not a Wan2.2 VAE"):
        VideoVAE.from_file(COMPONENTS / "umt5_tiny_enc.pth")


def test_damaged_file_is_a_weights_error(tmp_path):
    state = read_state_dict(PTH, "vae")
    state["decoder.conv1.weight"] = state["decoder.conv1.weight"][:, :2]
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="wrong shape"):
        VideoVAE.from_file(tmp_path / "bad.pth")


def test_diffusers_folder_loads_like_the_release_file(tmp_path, vae, io):
    vae.model.save_pretrained(tmp_path / "vae")
    for folder in (tmp_path, tmp_path / "vae"):  # a pipeline folder or the vae folder itself
        again = VideoVAE.load(folder)
        torch.testing.assert_close(again.encode(io["in.video"]), io["out.latent"], atol=ATOL, rtol=0)
    with pytest.raises(WeightsError, match="no config.json"):
        VideoVAE.from_pretrained(tmp_path / "nothing-here")
