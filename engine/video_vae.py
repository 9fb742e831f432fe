"""Wan2.2 video VAE (z 48, 16x16 spatial, 4x temporal) through diffusers ``AutoencoderKLWan``.

Reads the diffusers folder or the original ``Wan2.2_VAE.pth`` (a plain state dict whose key
names are mapped here; :func:`to_original` maps back so tiny files can be written in the
release format). diffusers does the causal chunking (encode: 1, then 4, 4, ... frames with a
feature cache; decode: one latent frame at a time); this module adds the latent
normalisation the Wan2.2 wrapper applies, with its 48 per-channel constants.

Shapes: video ``[B, 3, T, H, W]`` in [-1, 1], T = 4k + 1, H and W multiples of 16;
latent ``[B, z, 1 + (T - 1) // 4, H / 16, W / 16]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from engine.checkpoints import load_strict, read_state_dict
from engine.errors import WeightsError
from engine.keymap import KeyMap

if TYPE_CHECKING:
    from diffusers import AutoencoderKLWan

WHAT = "video VAE (Wan2.2_VAE.pth)"

# Per-channel latent statistics of the Wan2.2 VAE: constants of the model, not in its file.
WAN22_LATENTS_MEAN = (
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557,
    -0.1382, 0.0542, 0.2813, 0.0891, 0.1570, -0.0098, 0.0375, -0.1825,
    -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
    -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230,
    -0.0313, -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748,
    0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667,
)  # fmt: skip
WAN22_LATENTS_STD = (
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013,
    0.8158, 1.0344, 0.5894, 1.0901, 0.6885, 0.6165, 0.8454, 0.4978,
    0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093,
    0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458, 1.6887,
    0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744,
)  # fmt: skip

# Wan2.2-TI2V-5B: encoder dim 160, decoder dim 256, z 48, 2x2 pixel patchify (12 channels).
WAN22_CONFIG: dict[str, Any] = dict(
    base_dim=160,
    decoder_base_dim=256,
    z_dim=48,
    dim_mult=[1, 2, 4, 4],
    num_res_blocks=2,
    attn_scales=[],
    temperal_downsample=[False, True, True],
    dropout=0.0,
    latents_mean=list(WAN22_LATENTS_MEAN),
    latents_std=list(WAN22_LATENTS_STD),
    is_residual=True,
    in_channels=12,
    out_channels=12,
    patch_size=2,
    scale_factor_temporal=4,
    scale_factor_spatial=16,
)

# Original Wan2.2 key -> diffusers key. Residual Sequential: 0 RMS_norm, 2 conv, 3 RMS_norm, 6 conv.
ORIGINAL_TO_DIFFUSERS = KeyMap(
    (
        (r"^conv1\.", "quant_conv."),
        (r"^conv2\.", "post_quant_conv."),
        (r"^(encoder|decoder)\.conv1\.", r"\1.conv_in."),
        (r"^(encoder|decoder)\.middle\.0\.", r"\1.mid_block.resnets.0."),
        (r"^(encoder|decoder)\.middle\.1\.", r"\1.mid_block.attentions.0."),
        (r"^(encoder|decoder)\.middle\.2\.", r"\1.mid_block.resnets.1."),
        (r"^(encoder|decoder)\.head\.0\.", r"\1.norm_out."),
        (r"^(encoder|decoder)\.head\.2\.", r"\1.conv_out."),
        (r"^encoder\.downsamples\.(\d+)\.downsamples\.\d+\.(resample|time_conv)\.", r"encoder.down_blocks.\1.downsampler.\2."),
        (r"^encoder\.downsamples\.(\d+)\.downsamples\.(\d+)\.", r"encoder.down_blocks.\1.resnets.\2."),
        (r"^decoder\.upsamples\.(\d+)\.upsamples\.\d+\.(resample|time_conv)\.", r"decoder.up_blocks.\1.upsampler.\2."),
        (r"^decoder\.upsamples\.(\d+)\.upsamples\.(\d+)\.", r"decoder.up_blocks.\1.resnets.\2."),
        (r"\.residual\.0\.gamma$", ".norm1.gamma"),
        (r"\.residual\.2\.", ".conv1."),
        (r"\.residual\.3\.gamma$", ".norm2.gamma"),
        (r"\.residual\.6\.", ".conv2."),
        (r"\.shortcut\.", ".conv_shortcut."),
    )
)  # fmt: skip


def diffusers_to_original(num_res_blocks: int) -> KeyMap:
    """The inverse of :data:`ORIGINAL_TO_DIFFUSERS`. The resampler sits after the resnets of its
    block: index ``num_res_blocks`` in an encoder block, ``num_res_blocks + 1`` in a decoder block."""
    return KeyMap(
        (
            (r"(resnets\.\d+)\.norm1\.gamma$", r"\1.residual.0.gamma"),
            (r"(resnets\.\d+)\.conv1\.", r"\1.residual.2."),
            (r"(resnets\.\d+)\.norm2\.gamma$", r"\1.residual.3.gamma"),
            (r"(resnets\.\d+)\.conv2\.", r"\1.residual.6."),
            (r"(resnets\.\d+)\.conv_shortcut\.", r"\1.shortcut."),
            (r"^quant_conv\.", "conv1."),
            (r"^post_quant_conv\.", "conv2."),
            (r"^(encoder|decoder)\.conv_in\.", r"\1.conv1."),
            (r"^(encoder|decoder)\.mid_block\.resnets\.0\.", r"\1.middle.0."),
            (r"^(encoder|decoder)\.mid_block\.attentions\.0\.", r"\1.middle.1."),
            (r"^(encoder|decoder)\.mid_block\.resnets\.1\.", r"\1.middle.2."),
            (r"^(encoder|decoder)\.norm_out\.", r"\1.head.0."),
            (r"^(encoder|decoder)\.conv_out\.", r"\1.head.2."),
            (r"^encoder\.down_blocks\.(\d+)\.downsampler\.", rf"encoder.downsamples.\1.downsamples.{num_res_blocks}."),
            (r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.", r"encoder.downsamples.\1.downsamples.\2."),
            (r"^decoder\.up_blocks\.(\d+)\.upsampler\.", rf"decoder.upsamples.\1.upsamples.{num_res_blocks + 1}."),
            (r"^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.", r"decoder.upsamples.\1.upsamples.\2."),
        )
    )  # fmt: skip


def to_original(state: Mapping[str, torch.Tensor], num_res_blocks: int) -> dict[str, torch.Tensor]:
    """A diffusers ``AutoencoderKLWan`` state dict in the ``Wan2.2_VAE.pth`` key layout."""
    return diffusers_to_original(num_res_blocks).apply(state)


def config_from_original(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The ``AutoencoderKLWan`` config of an original-layout state dict, read from its shapes.

    Latent statistics: the first ``z_dim`` Wan2.2 constants (all 48 for the real file).
    """
    try:
        base_dim, in_channels = state["encoder.conv1.weight"].shape[:2]
        z_dim = state["conv2.weight"].shape[0]
        blocks = sorted({int(m[1]) for k in state if (m := re.match(r"encoder\.downsamples\.(\d+)\.", k))})
        dim_mult = [
            state[f"encoder.downsamples.{i}.downsamples.0.residual.2.weight"].shape[0] // base_dim for i in blocks
        ]
        resnets = {
            int(m[1]) for k in state if (m := re.match(r"encoder\.downsamples\.0\.downsamples\.(\d+)\.residual\.", k))
        }
        temporal = [
            any(k.startswith(f"encoder.downsamples.{i}.") and ".time_conv." in k for k in state) for i in blocks[:-1]
        ]
        decoder_base_dim = state["decoder.conv1.weight"].shape[0] // dim_mult[-1]
        out_channels = state["decoder.head.2.weight"].shape[0]
    except (KeyError, IndexError, ZeroDivisionError) as exc:
        raise WeightsError(f"{WHAT}: not a Wan2.2 VAE state dict (no {exc})") from exc
    if z_dim > len(WAN22_LATENTS_MEAN):
        raise WeightsError(f"{WHAT}: z_dim {z_dim} is larger than the Wan2.2 VAE's 48")
    return {
        **WAN22_CONFIG,
        "base_dim": int(base_dim),
        "decoder_base_dim": int(decoder_base_dim),
        "z_dim": int(z_dim),
        "dim_mult": dim_mult,
        "num_res_blocks": len(resnets),
        "temperal_downsample": temporal,
        "in_channels": int(in_channels),
        "out_channels": int(out_channels),
        "latents_mean": list(WAN22_LATENTS_MEAN[:z_dim]),
        "latents_std": list(WAN22_LATENTS_STD[:z_dim]),
    }


class VideoVAE:
    """Encode pixels to normalised Wan2.2 latents and back.

    Normalisation is the wrapper's: ``(mu - mean) * (1/std)``; decode ``z / (1/std) + mean``
    (the reciprocal form, as the reference computes it).
    """

    spatial_factor = 16
    temporal_factor = 4

    def __init__(self, model: AutoencoderKLWan):
        self.model = model.eval().requires_grad_(False)
        param = next(model.parameters())
        shape = (1, -1, 1, 1, 1)
        self._mean = torch.tensor(model.config.latents_mean, dtype=torch.float32, device=param.device).view(shape)
        self._inv_std = 1.0 / torch.tensor(model.config.latents_std, dtype=torch.float32, device=param.device).view(
            shape
        )

    @property
    def latent_channels(self) -> int:
        return self.model.config.z_dim

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @classmethod
    def from_config(cls, config: Mapping[str, Any], dtype=torch.float32, device="cpu") -> VideoVAE:
        """A randomly initialised VAE (for tiny test engines); ``config`` overrides the Wan2.2 one."""
        from diffusers import AutoencoderKLWan

        config = {**WAN22_CONFIG, **config}
        z_dim = config["z_dim"]
        if len(config["latents_mean"]) != z_dim:  # a small z takes the first z_dim constants
            config["latents_mean"], config["latents_std"] = WAN22_LATENTS_MEAN[:z_dim], WAN22_LATENTS_STD[:z_dim]
        # nn.Module.to: diffusers' own .to() warns of fp32 modules on every cast, even with none listed
        return cls(torch.nn.Module.to(AutoencoderKLWan(**config), device=device, dtype=dtype))

    @classmethod
    def from_file(cls, path: str | Path, dtype=torch.float32, device="cpu") -> VideoVAE:
        """The original ``Wan2.2_VAE.pth`` (plain state dict; config read from its shapes)."""
        from diffusers import AutoencoderKLWan

        original = read_state_dict(path, WHAT)
        config = config_from_original(original)
        with torch.device("meta"):
            model = AutoencoderKLWan(**config)
        load_strict(model, ORIGINAL_TO_DIFFUSERS.apply(original), WHAT, path, dtype=dtype)
        return cls(model.to(device))

    @classmethod
    def from_pretrained(cls, folder: str | Path, dtype=torch.float32, device="cpu") -> VideoVAE:
        """A diffusers ``AutoencoderKLWan`` folder (or a pipeline folder with a ``vae/`` subfolder)."""
        from diffusers import AutoencoderKLWan

        folder = Path(folder)
        if (folder / "vae" / "config.json").is_file():
            folder = folder / "vae"
        if not (folder / "config.json").is_file():
            raise WeightsError(f"{WHAT}: {folder} is not a diffusers AutoencoderKLWan folder (no config.json)")
        return cls(AutoencoderKLWan.from_pretrained(folder, torch_dtype=dtype).to(device))

    @classmethod
    def load(cls, path: str | Path, dtype=torch.float32, device="cpu") -> VideoVAE:
        """A folder (diffusers) or a file (original ``.pth``)."""
        if Path(path).is_dir():
            return cls.from_pretrained(path, dtype, device)
        return cls.from_file(path, dtype, device)

    def save_original(self, path: str | Path) -> None:
        """Write the weights as the release does: a plain ``{original_key: tensor}`` ``.pth``."""
        state = to_original(self.model.state_dict(), self.model.config.num_res_blocks)
        torch.save({k: v.contiguous() for k, v in state.items()}, path)

    def enable_tiling(self, tile: int = 256, stride: int = 192) -> None:
        """Spatially tiled encode/decode in pixel tiles of ``tile`` with ``stride`` (saves memory)."""
        self.model.enable_tiling(tile, tile, stride, stride)

    def disable_tiling(self) -> None:
        self.model.use_tiling = False

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` in [-1, 1] -> normalised latent ``[B, z, 1 + (T-1)//4, H/16, W/16]`` (fp32).

        The encoder is causal: frame 0 alone gives latent frame 0, so an image encodes the same
        as the first frame of a video. Frames past ``1 + 4k`` are dropped, as in the reference.
        """
        if video.ndim != 5 or video.shape[1] != 3:
            raise ValueError(f"video must be [B, 3, T, H, W], got {list(video.shape)}")
        mu = self.model.encode(video.to(self.device, self.dtype)).latent_dist.mode().float()
        return (mu - self._mean) * self._inv_std

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` (or ``[B, 3, 1, H, W]``) in [-1, 1] -> latent ``[B, z, 1, H/16, W/16]``."""
        return self.encode(image if image.ndim == 5 else image.unsqueeze(2))

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Normalised latent ``[B, z, F, h, w]`` -> video ``[B, 3, 4(F-1)+1, 16h, 16w]`` clamped to [-1, 1] (fp32)."""
        mu = latent.float() / self._inv_std + self._mean
        return self.model.decode(mu.to(self.dtype)).sample.float()

    def frames_for(self, latent_frames: int) -> int:
        return self.temporal_factor * (latent_frames - 1) + 1

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """``(z, latent_frames, h, w)`` for a clip of ``frames`` pixel frames at ``height`` x ``width``."""
        if (frames - 1) % self.temporal_factor or height % self.spatial_factor or width % self.spatial_factor:
            raise ValueError(f"frames must be 4k+1 and sizes multiples of 16, got {frames}x{height}x{width}")
        return (self.latent_channels, 1 + (frames - 1) // 4, height // 16, width // 16)
