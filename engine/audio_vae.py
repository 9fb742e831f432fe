"""LTX-2.3 audio VAE + vocoder with bandwidth extension, through diffusers.

The release is one safetensors file: ``audio_vae.encoder.*``, ``audio_vae.decoder.*``,
``audio_vae.per_channel_statistics.{mean-of-means,std-of-means}`` and ``vocoder.*`` keys, with
the original config as JSON in the metadata key ``config``. Keys are mapped here onto diffusers
``AutoencoderKLLTX2Audio`` and ``LTX2VocoderWithBWE`` (whose ``.vocoder`` is the 16 kHz
``LTX2Vocoder`` stage); :meth:`AudioVAE.save_release` maps back.

Shapes:
  wave     ``[B, 2, N]`` float at 16 kHz (mono ``[B, N]`` or ``[B, 1, N]`` is duplicated)
  mel      ``[B, 2, T, 64]`` log-magnitude, T = 1 + N // 160 (100 frames/s)
  tokens   ``[B, T', 128]``, T' = ceil(T / 4) (25 tokens/s), feature = c * 16 + f
           (8 latent channels x 16 mel bins, channel-major), normalised per feature
  output   ``[B, 2, 3 * 160 * (4 T' - 3)]`` at 48 kHz

Two things the diffusers conversion does not do and the original does: the 16 kHz stage
clamps its output to [-1, 1] (``final_act_fn="clamp"``), and the bandwidth extension always
computes in float32 (kept so here under bf16 inference).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from einops import rearrange

from engine.audio_io import resample
from engine.checkpoints import json_metadata, load_strict, read_safetensors
from engine.errors import WeightsError
from engine.keymap import KeyMap
from engine.mel import mel_spectrogram, slaney_filterbank

if TYPE_CHECKING:
    from diffusers import AutoencoderKLLTX2Audio
    from diffusers.pipelines.ltx2.vocoder import LTX2VocoderWithBWE

WHAT = "audio VAE + vocoder (LTX-2.3 audio safetensors)"
LATENT_DOWNSAMPLE = 4  # in time and in mel bins

RELEASE_TO_VAE = KeyMap(
    (
        (r"^audio_vae\.per_channel_statistics\.mean-of-means$", "latents_mean"),
        (r"^audio_vae\.per_channel_statistics\.std-of-means$", "latents_std"),
        (r"^audio_vae\.(encoder|decoder)\.", r"\1."),
    ),
    select=r"^audio_vae\.(encoder\.|decoder\.|per_channel_statistics\.(mean-of-means|std-of-means)$)",
)
VAE_TO_RELEASE = KeyMap(
    (
        (r"^latents_mean$", "audio_vae.per_channel_statistics.mean-of-means"),
        (r"^latents_std$", "audio_vae.per_channel_statistics.std-of-means"),
        (r"^(encoder|decoder)\.", r"audio_vae.\1."),
    )
)
RELEASE_TO_VOCODER = KeyMap(
    (
        (r"^vocoder\.", ""),
        (r"\.ups\.(\d+)\.(weight|bias)$", r".upsamplers.\1.\2"),
        (r"(^|\.)resblocks\.", r"\1resnets."),
        (r"(^|\.)conv_pre\.", r"\1conv_in."),
        (r"(^|\.)conv_post\.", r"\1conv_out."),
        (r"(^|\.)act_post\.", r"\1act_out."),
        (r"\.downsample\.lowpass\.filter$", ".downsample.filter"),
    ),
    select=r"^vocoder\.",
)
VOCODER_TO_RELEASE = KeyMap(
    (
        (r"\.upsamplers\.(\d+)\.(weight|bias)$", r".ups.\1.\2"),
        (r"(^|\.)resnets\.", r"\1resblocks."),
        (r"(^|\.)conv_in\.", r"\1conv_pre."),
        (r"(^|\.)conv_out\.", r"\1conv_post."),
        (r"(^|\.)act_out\.", r"\1act_post."),
        (r"\.downsample\.filter$", ".downsample.lowpass.filter"),
        (r"^", "vocoder."),
    )
)

# The tiny layout of fixtures/components/ltx_audio_tiny.safetensors: the LTX-2.3 config with
# small widths (VAE ch 16, vocoder 128 / BWE 64 channels). Everything else equals LTX-2.3.
_AMP1 = dict(
    resblock="AMP1",
    resblock_kernel_sizes=[3, 7, 11],
    resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    stereo=True,
    use_tanh_at_final=False,
    activation="snakebeta",
    use_bias_at_final=False,
)
TINY_RELEASE_CONFIG: dict[str, Any] = {
    "audio_vae": {
        "model": {
            "params": {
                "ddconfig": {
                    "double_z": True,
                    "mel_bins": 64,
                    "z_channels": 8,
                    "resolution": 256,
                    "downsample_time": False,
                    "in_channels": 2,
                    "out_ch": 2,
                    "ch": 16,
                    "ch_mult": [1, 2, 4],
                    "num_res_blocks": 2,
                    "attn_resolutions": [],
                    "dropout": 0.0,
                    "mid_block_add_attention": False,
                    "norm_type": "pixel",
                    "causality_axis": "height",
                },
                "sampling_rate": 16000,
            }
        },
        "preprocessing": {
            "audio": {
                "sampling_rate": 16000,
                "max_wav_value": 32768.0,
                "duration": 5.12,
                "stereo": True,
                "causal_padding": 3,
            },
            "stft": {"filter_length": 1024, "hop_length": 160, "win_length": 1024, "causal": True},
            "mel": {"n_mel_channels": 64, "mel_fmin": 0, "mel_fmax": 8000},
        },
    },
    "vocoder": {
        "vocoder": {
            **_AMP1,
            "upsample_initial_channel": 128,
            "upsample_rates": [5, 2, 2, 2, 2, 2],
            "upsample_kernel_sizes": [11, 4, 4, 4, 4, 4],
        },
        "bwe": {
            **_AMP1,
            "upsample_initial_channel": 64,
            "upsample_rates": [6, 5, 2, 2, 2],
            "upsample_kernel_sizes": [12, 11, 4, 4, 4],
            "apply_final_activation": False,
            "input_sampling_rate": 16000,
            "output_sampling_rate": 48000,
            "hop_length": 80,
            "n_fft": 512,
            "win_size": 512,
            "num_mels": 64,
        },
    },
}


def vae_config(release: Mapping[str, Any]) -> dict[str, Any]:
    """``AutoencoderKLLTX2Audio`` kwargs from the release config (as the original loader reads it)."""
    audio_vae = release["audio_vae"]
    dd = audio_vae["model"]["params"]["ddconfig"]
    stft = audio_vae["preprocessing"]["stft"]
    return dict(
        base_channels=dd["ch"],
        output_channels=dd["out_ch"],
        ch_mult=tuple(dd["ch_mult"]),
        num_res_blocks=dd["num_res_blocks"],
        attn_resolutions=tuple(dd["attn_resolutions"]) or None,
        in_channels=dd["in_channels"],
        resolution=dd["resolution"],
        latent_channels=dd["z_channels"],
        norm_type=dd["norm_type"],
        causality_axis=dd["causality_axis"],
        dropout=dd["dropout"],
        mid_block_add_attention=dd["mid_block_add_attention"],
        sample_rate=audio_vae["model"]["params"]["sampling_rate"],
        mel_hop_length=stft["hop_length"],
        is_causal=stft["causal"],
        mel_bins=dd.get("mel_bins") or audio_vae["preprocessing"]["mel"]["n_mel_channels"],
        double_z=dd["double_z"],
    )


def _generator_config(stage: Mapping[str, Any], final_act: str | None) -> dict[str, Any]:
    return dict(
        in_channels=128,  # stereo x 64 mel bins, fixed in the original
        hidden_channels=stage["upsample_initial_channel"],
        out_channels=2 if stage.get("stereo", True) else 1,
        upsample_kernel_sizes=list(stage["upsample_kernel_sizes"]),
        upsample_factors=list(stage["upsample_rates"]),
        resnet_kernel_sizes=list(stage["resblock_kernel_sizes"]),
        resnet_dilations=[list(d) for d in stage["resblock_dilation_sizes"]],
        act_fn=stage["activation"],
        antialias=stage["resblock"] == "AMP1",
        final_act_fn=final_act,
        final_bias=stage["use_bias_at_final"],
    )


def vocoder_config(release: Mapping[str, Any]) -> dict[str, Any]:
    """``LTX2VocoderWithBWE`` kwargs from the release config.

    The 16 kHz stage is built with its final activation on (clamp, or tanh when the config asks
    for it), as the original does; the BWE generator's follows ``apply_final_activation``.
    """
    stage1, bwe = release["vocoder"]["vocoder"], release["vocoder"]["bwe"]
    stage1_act = "tanh" if stage1.get("use_tanh_at_final") else "clamp"
    bwe_act = ("tanh" if bwe.get("use_tanh_at_final") else "clamp") if bwe.get("apply_final_activation") else None
    bwe_kwargs = {f"bwe_{k}": v for k, v in _generator_config(bwe, bwe_act).items()}
    return dict(
        **_generator_config(stage1, stage1_act),
        **bwe_kwargs,
        filter_length=bwe["n_fft"],
        hop_length=bwe["hop_length"],
        window_length=bwe["n_fft"],  # the original passes win_length = n_fft; win_size is ignored
        num_mel_channels=bwe["num_mels"],
        input_sampling_rate=bwe["input_sampling_rate"],
        output_sampling_rate=bwe["output_sampling_rate"],
    )


def stft_bases(n_fft: int, hop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The BWE's causal-STFT conv bases ``[2 (n_fft//2+1), 1, n_fft]``: forward (hann-windowed DFT
    rows, real then imaginary) and inverse (pseudo-inverse, windowed). DSP constants, not learned."""
    cutoff = n_fft // 2 + 1
    dft = torch.fft.fft(torch.eye(n_fft, dtype=torch.float64))[:cutoff]
    basis = torch.cat([dft.real, dft.imag])
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    forward = basis * window
    inverse = torch.linalg.pinv(n_fft / hop * basis).T * window
    return forward.unsqueeze(1).float(), inverse.unsqueeze(1).float()


class AudioVAE:
    """Waves to normalised latent tokens and back, with the mel front end and the vocoder."""

    def __init__(self, vae: AutoencoderKLLTX2Audio, vocoder: LTX2VocoderWithBWE, release_config: Mapping[str, Any]):
        self.vae = vae.eval().requires_grad_(False)
        self.vocoder = vocoder.eval().requires_grad_(False)
        self.release_config = dict(release_config)
        stft = release_config["audio_vae"]["preprocessing"]["stft"]
        self.sample_rate: int = vae.config.sample_rate
        self.hop_length: int = stft["hop_length"]
        self.n_fft: int = stft["filter_length"]
        self.mel_bins: int = vae.config.mel_bins
        self.latent_channels: int = vae.config.latent_channels
        self.output_rate: int = vocoder.config.output_sampling_rate
        self.filterbank = slaney_filterbank(self.sample_rate, self.n_fft, self.mel_bins)  # f_max = rate / 2
        self.window = torch.hann_window(stft["win_length"])

    @property
    def token_dim(self) -> int:
        return self.latent_channels * self.mel_bins // LATENT_DOWNSAMPLE

    @property
    def tokens_per_second(self) -> float:
        return self.sample_rate / self.hop_length / LATENT_DOWNSAMPLE

    @property
    def dtype(self) -> torch.dtype:
        return self.vae.latents_mean.dtype

    @property
    def device(self) -> torch.device:
        return self.vae.latents_mean.device

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def _build(cls, release: Mapping[str, Any], statistics: int) -> tuple[AutoencoderKLLTX2Audio, LTX2VocoderWithBWE]:
        from diffusers import AutoencoderKLLTX2Audio
        from diffusers.pipelines.ltx2.vocoder import LTX2VocoderWithBWE

        try:
            vae = AutoencoderKLLTX2Audio(**vae_config(release))
            vocoder = LTX2VocoderWithBWE(**vocoder_config(release))
        except (KeyError, TypeError) as exc:
            raise WeightsError(f"{WHAT}: the config in the file is not an LTX-2.3 audio config (no {exc})") from exc
        # diffusers sizes the statistics by base_channels; they are one per token feature.
        vae.register_buffer("latents_mean", torch.zeros(statistics))
        vae.register_buffer("latents_std", torch.ones(statistics))
        return vae, vocoder

    @classmethod
    def from_file(cls, path: str | Path, dtype=torch.float32, device="cpu") -> AudioVAE:
        """The release safetensors (config from its metadata, statistics sized from its tensors)."""
        state, metadata = read_safetensors(path, WHAT)
        release = json_metadata(metadata, "config", Path(path), WHAT)
        mean = state.get("audio_vae.per_channel_statistics.mean-of-means")
        if mean is None or "vocoder" not in release or "bwe" not in release.get("vocoder", {}):
            raise WeightsError(f"{WHAT}: {path} is not an LTX-2.3 audio VAE + vocoder (with bandwidth extension) file")
        vae, vocoder = cls._build(release, mean.numel())
        load_strict(vae, RELEASE_TO_VAE.apply(state), WHAT, path, dtype=dtype)
        load_strict(vocoder, RELEASE_TO_VOCODER.apply(state), WHAT, path, dtype=torch.float32)
        return cls._placed(vae, vocoder, release, dtype, device)

    @classmethod
    def from_config(
        cls, release: Mapping[str, Any] = TINY_RELEASE_CONFIG, dtype=torch.float32, device="cpu"
    ) -> AudioVAE:
        """Random weights for a release config (tiny test engines); DSP buffers are the true constants."""
        dd = release["audio_vae"]["model"]["params"]["ddconfig"]
        vae, vocoder = cls._build(release, dd["z_channels"] * dd["mel_bins"] // LATENT_DOWNSAMPLE)
        bwe = vocoder.config
        forward, inverse = stft_bases(bwe.filter_length, bwe.hop_length)
        mel = slaney_filterbank(bwe.input_sampling_rate, bwe.filter_length, bwe.num_mel_channels).T
        stft = vocoder.mel_stft
        stft.stft_fn.forward_basis.copy_(forward), stft.stft_fn.inverse_basis.copy_(inverse), stft.mel_basis.copy_(mel)
        # nn.Module.to: diffusers' own .to() warns of fp32 modules on every cast, even with none listed
        return cls._placed(torch.nn.Module.to(vae, dtype), vocoder, release, dtype, device)

    @classmethod
    def _placed(cls, vae, vocoder, release, dtype, device) -> AudioVAE:
        vocoder = vocoder.float()
        # The 16 kHz stage follows the pipeline's dtype; the BWE stays float32. (nn.Module.to:
        # diffusers' own .to() warns about a partial cast, which is what is meant here.)
        torch.nn.Module.to(vocoder.vocoder, dtype)
        return cls(vae.to(device), vocoder.to(device), release)

    def save_release(self, path: str | Path) -> None:
        """Write the weights and config in the release layout (bf16 tensors, JSON ``config`` metadata)."""
        from safetensors.torch import save_file

        state = {**VAE_TO_RELEASE.apply(self.vae.state_dict()), **VOCODER_TO_RELEASE.apply(self.vocoder.state_dict())}
        state.pop("vocoder.resampler.filter", None)  # computed at init, not stored
        tensors = {k: v.detach().to("cpu", torch.bfloat16).contiguous() for k, v in state.items()}
        save_file(tensors, str(path), metadata={"config": json.dumps(self.release_config)})

    # ---- encode ---------------------------------------------------------------------------

    def mel(self, wave: torch.Tensor, sample_rate: int | None = None) -> torch.Tensor:
        """Wave -> log-mel ``[B, 2, T, 64]`` (float32): |STFT| (n_fft 1024, hop 160, hann), slaney mels
        0-8 kHz, ``log(clamp(1e-5))``. Mono input is duplicated; other rates are resampled to 16 kHz."""
        wave = stereo(wave).float().cpu()
        if sample_rate is not None:
            wave = resample(wave, sample_rate, self.sample_rate)
        mel = mel_spectrogram(wave, self.filterbank, self.n_fft, self.hop_length, self.window, power=1.0)
        return torch.log(torch.clamp(mel, min=1e-5)).transpose(-1, -2)

    @torch.no_grad()
    def encode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``[B, 2, T, 64]`` -> normalised tokens ``[B, ceil(T/4), 128]`` (float32)."""
        moments = self.vae.encode(mel.to(self.device, self.dtype)).latent_dist
        tokens = rearrange(moments.mode().float(), "b c t f -> b t (c f)")
        return (tokens - self.vae.latents_mean.float()) / self.vae.latents_std.float()

    def encode(self, wave: torch.Tensor, sample_rate: int | None = None) -> torch.Tensor:
        """Wave (16 kHz unless ``sample_rate`` says otherwise) -> normalised tokens ``[B, T', 128]``."""
        return self.encode_mel(self.mel(wave, sample_rate))

    # ---- decode ---------------------------------------------------------------------------

    @torch.no_grad()
    def decode_mel(self, tokens: torch.Tensor) -> torch.Tensor:
        """Normalised tokens ``[B, T', 128]`` -> log-mel ``[B, 2, 4 T' - 3, 64]`` (float32)."""
        tokens = tokens.to(self.device).float() * self.vae.latents_std.float() + self.vae.latents_mean.float()
        latent = rearrange(tokens, "b t (c f) -> b c t f", c=self.latent_channels)
        return self.vae.decode(latent.to(self.dtype)).sample.float()

    @torch.no_grad()
    def vocode_16k(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``[B, 2, T, 64]`` -> the 16 kHz stage's wave ``[B, 2, 160 T]`` in [-1, 1] (float32)."""
        stage = self.vocoder.vocoder
        return stage(mel.to(self.device, next(stage.parameters()).dtype)).float()

    @torch.no_grad()
    def vocode(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``[B, 2, T, 64]`` -> ``[B, 2, 480 T]`` at 48 kHz; the bandwidth extension runs in float32."""
        wave = self.vocode_16k(mel)
        return self._bandwidth_extend(wave)

    def _bandwidth_extend(self, wave: torch.Tensor) -> torch.Tensor:
        """The steps of ``LTX2VocoderWithBWE.forward`` after its 16 kHz stage, in float32."""
        vocoder, config = self.vocoder, self.vocoder.config
        samples = wave.shape[-1]
        padded = F.pad(wave, (0, -samples % config.hop_length))
        mel = vocoder.mel_stft(padded.flatten(0, 1))[0].unflatten(0, padded.shape[:2])
        residual = vocoder.bwe_generator(mel.transpose(2, 3))
        out = torch.clamp(residual + vocoder.resampler(padded), -1, 1)
        return out[..., : samples * config.output_sampling_rate // config.input_sampling_rate]

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Normalised tokens ``[B, T', 128]`` -> stereo wave ``[B, 2, N]`` at :attr:`output_rate` (48 kHz)."""
        return self.vocode(self.decode_mel(tokens))

    def tokens_for(self, seconds: float) -> int:
        """Latent tokens covering ``seconds`` of audio (25 per second, rounded up)."""
        return math.ceil(round(seconds * self.tokens_per_second, 6))


def stereo(wave: torch.Tensor) -> torch.Tensor:
    """``[B, N]``/``[B, 1, N]`` -> ``[B, 2, N]`` (duplicated); ``[B, 2, N]`` unchanged."""
    if wave.ndim == 2:
        wave = wave.unsqueeze(1)
    if wave.ndim != 3 or wave.shape[1] not in (1, 2):
        raise ValueError(f"wave must be [B, N], [B, 1, N] or [B, 2, N], got {list(wave.shape)}")
    return wave.expand(-1, 2, -1) if wave.shape[1] == 1 else wave
