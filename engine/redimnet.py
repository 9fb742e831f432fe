"""ReDimNet speaker embedder (IDRnD), written from its description, built from a stored config.

The network keeps one tensor in two views: a 2-D map ``[B, c, f, T]`` for convolutions over
frequency and time, and a 1-D map ``[B, f*c, T]`` for time context. ``c * f = C * F`` at
every stage: a stage that pools frequency by its stride widens channels by the same factor.
Every stage starts by mixing all earlier 1-D outputs with learned softmax weights.

Module and parameter names follow the official state dict (``spec.``, ``backbone.stem``,
``backbone.stage{i}.{index}``, ``pool.``, ``bn``, ``linear``, ``bn2``), so the official
``{'model_config', 'state_dict'}`` checkpoint loads strictly.

Input: mono 16 kHz float ``[B, N]``. Output: raw embedding ``[B, embed_dim]`` (no L2 norm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from einops.layers.torch import Rearrange
from torch import nn

from engine.mel import htk_filterbank, mel_spectrogram

# ---- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSetup:
    stride: int  # frequency pooling; channels widen by the same factor
    num_blocks: int  # 2-D blocks
    conv_exp: int  # width multiplier inside the stage (squeezed back when != 1)
    att_block_red: int | None  # 1-D time-context block with hidden (C*F)//red; None: no block


# (stride, num_blocks, conv_exp, kernel_sizes (unused by the network), att_block_red)
M_STAGES = (
    (1, 2, 1, [[3, 3]], 12),
    (2, 2, 1, [[3, 3]], 12),
    (1, 3, 1, [[3, 3]], 12),
    (2, 4, 1, [[3, 3]], 8),
    (1, 4, 1, [[3, 3]], 8),
    (2, 4, 1, [[3, 3]], 4),
)


@dataclass(frozen=True)
class ReDimNetConfig:
    """The ``model_config`` of an official checkpoint; absent keys take the official M defaults."""

    F: int = 72
    C: int = 16
    block_1d_type: str = "att"
    block_2d_type: str = "convnext_like"
    stages_setup: tuple = M_STAGES
    group_divisor: int = 4
    out_channels: int | None = None
    embed_dim: int = 192
    num_classes: int | None = None
    hop_length: int = 160
    pooling_func: str = "ASTP"
    feat_type: str = "pt"
    global_context_att: bool = False
    emb_bn: bool = False
    spec_params: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> ReDimNetConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in known})

    @property
    def stages(self) -> list[StageSetup]:
        return [StageSetup(s[0], s[1], s[2], s[4]) for s in self.stages_setup]

    @property
    def width(self) -> int:
        """Rows of the 1-D map: C * F."""
        return self.C * self.F


# ---- small layers ---------------------------------------------------------------------------


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over dim 1 of a channels-first tensor ``[B, C, ...]``."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


class LayerWeights(nn.Module):
    """Softmax-weighted sum of the 1-D maps so far: ``w`` ``[1, N, K, 1]``, softmax over N per row."""

    def __init__(self, num_inputs: int, rows: int):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1, num_inputs, rows, 1))

    def forward(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        return (torch.stack(outputs, dim=1) * self.w.softmax(dim=1)).sum(dim=1)


def to_2d(channels: int) -> Rearrange:
    """``[B, f*c, T]`` (row = f_index * c + c_index) -> ``[B, c, f, T]``."""
    return Rearrange("b (f c) t -> b c f t", c=channels)


def to_1d() -> Rearrange:
    return Rearrange("b c f t -> b (f c) t")


# ---- 2-D blocks -----------------------------------------------------------------------------


class ConvNeXtLike2d(nn.Module):
    """``x + pw(act(bn(grouped 3x3 conv(x))))``."""

    def __init__(self, width: int, groups: int, relu: bool = False):
        super().__init__()
        self.dwconvs = nn.ModuleList([nn.Conv2d(width, width, 3, padding=1, groups=groups)])
        self.norm = nn.BatchNorm2d(width)
        self.act = nn.ReLU() if relu else nn.GELU()
        self.pwconv1 = nn.Conv2d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pwconv1(self.act(self.norm(self.dwconvs[0](x))))


class FrequencySE(nn.Module):
    """Frequency-wise squeeze-excitation: one sigmoid gate per frequency row."""

    def __init__(self, freqs: int, hidden: int):
        super().__init__()
        self.squeeze = nn.Linear(freqs, hidden)
        self.exitation = nn.Linear(hidden, freqs)  # (sic) the official name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.exitation(F.relu(self.squeeze(x.mean(dim=(1, 3))))))
        return x * gate[:, None, :, None]


class BasicResNet2d(nn.Module):
    """Two grouped 3x3 + pointwise convs (ReLU before the first BatchNorm), optional fwSE, residual, ReLU."""

    def __init__(self, width: int, groups: int, freqs: int, se: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, groups=groups, bias=False)
        self.conv1pw = nn.Conv2d(width, width, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, groups=groups, bias=False)
        self.conv2pw = nn.Conv2d(width, width, 1)
        self.bn2 = nn.BatchNorm2d(width)
        self.se = FrequencySE(freqs, min(64, max(width, 32))) if se else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn1(F.relu(self.conv1pw(self.conv1(x))))
        out = self.se(self.bn2(self.conv2pw(self.conv2(out))))
        return F.relu(out + x)


class Block2d(nn.Module):
    def __init__(self, kind: str, width: int, groups: int, freqs: int):
        super().__init__()
        if kind.startswith("convnext_like"):
            self.conv_block = ConvNeXtLike2d(width, groups, relu="relu" in kind)
        elif kind in ("basic_resnet", "basic_resnet_fwse"):
            self.conv_block = BasicResNet2d(width, groups, freqs, se=kind.endswith("fwse"))
        else:
            raise ValueError(f"unsupported 2-D block type {kind!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_block(x)


# ---- 1-D time context -----------------------------------------------------------------------


class ConvNeXtLike1d(nn.Module):
    def __init__(self, width: int, kernel: int):
        super().__init__()
        self.dwconvs = nn.ModuleList([nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=width)])
        self.norm = nn.BatchNorm1d(width)
        self.pwconv1 = nn.Conv1d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pwconv1(F.gelu(self.norm(self.dwconvs[0](x))))


class PosEncConv(nn.Module):
    """Convolutional positional encoding: ``z + LN(depthwise conv(z))``."""

    def __init__(self, width: int, kernel: int = 59):
        super().__init__()
        self.conv = nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=width)
        self.norm = ChannelLayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(self.conv(x))


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.q_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (
            proj(x).unflatten(-1, (self.heads, -1)).transpose(1, 2) for proj in (self.q_proj, self.k_proj, self.v_proj)
        )
        return self.out_proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2))


class FeedForward(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.intermediate_dense = nn.Linear(width, hidden)
        self.output_dense = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_dense(F.gelu(self.intermediate_dense(x), approximate="tanh"))


class TransformerLayer(nn.Module):
    """Post-norm transformer layer over time, on a channels-first ``[B, h, T]`` map."""

    def __init__(self, width: int, ffn: int):
        super().__init__()
        self.attention = SelfAttention(width)
        self.layer_norm = nn.LayerNorm(width, eps=1e-6)
        self.feed_forward = FeedForward(width, ffn)
        self.final_layer_norm = nn.LayerNorm(width, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.transpose(1, 2)
        z = self.layer_norm(z + self.attention(z))
        z = self.final_layer_norm(z + self.feed_forward(z))
        return z.transpose(1, 2)


def time_context_layers(kind: str, width: int) -> list[nn.Module]:
    if kind == "att":
        return [PosEncConv(width), TransformerLayer(width, 2 * width)]
    if kind == "conv+att":
        return [*(ConvNeXtLike1d(width, k) for k in (7, 19, 31, 59)), TransformerLayer(width, width)]
    raise ValueError(f"unsupported 1-D block type {kind!r}")


class TimeContextBlock1d(nn.Module):
    """``x + expand(tcm(reduce(x)))`` on the 1-D map, with a narrow hidden width."""

    def __init__(self, kind: str, width: int, hidden: int):
        super().__init__()
        self.red_dim_conv = nn.Sequential(nn.Conv1d(width, hidden, 1), ChannelLayerNorm(hidden))
        self.tcm = nn.Sequential(*time_context_layers(kind, hidden))
        self.exp_dim_conv = nn.Conv1d(hidden, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.exp_dim_conv(self.tcm(self.red_dim_conv(x)))


# ---- backbone -------------------------------------------------------------------------------


class Stage(nn.Sequential):
    """Mix the earlier 1-D maps, then: to 2-D, strided conv, 2-D blocks, [squeeze], to 1-D, [1-D block]."""

    def __init__(self, index: int, setup: StageSetup, channels: int, freqs: int, config: ReDimNetConfig):
        s, e = setup.stride, setup.conv_exp
        width, out_channels = s * channels * e, s * channels
        layers: list[nn.Module] = [
            LayerWeights(index + 1, 1 if index == 0 else config.width),
            to_2d(channels),
            nn.Conv2d(channels, width, kernel_size=(s, 1), stride=(s, 1)),
            *(
                Block2d(config.block_2d_type, width, width // config.group_divisor, freqs // s)
                for _ in range(setup.num_blocks)
            ),
        ]
        if e != 1:
            relu = "relu" in config.block_2d_type and "relu" in config.block_1d_type
            layers.append(
                nn.Sequential(
                    nn.Conv2d(width, out_channels, 3, padding=1, groups=out_channels // config.group_divisor),
                    nn.BatchNorm2d(out_channels, eps=1e-6),
                    nn.ReLU() if relu else nn.GELU(),
                    nn.Conv2d(out_channels, out_channels, 1),
                )
            )
        layers.append(to_1d())
        if setup.att_block_red is not None:
            layers.append(TimeContextBlock1d(config.block_1d_type, config.width, config.width // setup.att_block_red))
        super().__init__(*layers)

    def forward(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        mix, *layers = self.children()
        x = mix(outputs)
        for layer in layers:
            x = layer(x)
        return x


class Backbone(nn.Module):
    def __init__(self, config: ReDimNetConfig):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, config.C, 3, padding=1), ChannelLayerNorm(config.C), to_1d())
        channels, freqs = config.C, config.F
        self.stages = []
        for i, setup in enumerate(config.stages):
            stage = Stage(i, setup, channels, freqs, config)
            self.add_module(f"stage{i}", stage)
            self.stages.append(stage)
            channels, freqs = channels * setup.stride, freqs // setup.stride
        self.fin_wght1d = LayerWeights(len(self.stages) + 1, config.width)
        if config.out_channels is None:
            self.mfa = nn.Identity()
        else:
            self.mfa = nn.Sequential(
                nn.Conv1d(config.width, config.out_channels, 1), nn.BatchNorm1d(config.out_channels)
            )

    def layer_outputs(self, features: torch.Tensor) -> list[torch.Tensor]:
        """Log-mel ``[B, F, T]`` -> the stem's and every stage's 1-D map, each ``[B, C*F, T]``."""
        outputs = [self.stem(features.unsqueeze(1))]
        for stage in self.stages:
            outputs.append(stage(outputs))
        return outputs

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mfa(self.fin_wght1d(self.layer_outputs(features)))


# ---- front end, pooling, head ---------------------------------------------------------------


class SignalNorm(nn.Module):
    """Per-utterance ``(x - mean) / (std + 1e-6)`` (biased std)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(dim=-1, keepdim=True)) / (x.std(dim=-1, keepdim=True, unbiased=False) + 1e-6)


class PreEmphasis(nn.Module):
    def __init__(self, coefficient: float = 0.97):
        super().__init__()
        self.register_buffer("flipped_filter", torch.tensor([[[-coefficient, 1.0]]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(F.pad(x.unsqueeze(1), (1, 0), mode="reflect"), self.flipped_filter).squeeze(1)


class Spectrogram(nn.Module):
    def __init__(self, win_length: int):
        super().__init__()
        self.register_buffer("window", torch.hamming_window(win_length))


class MelScale(nn.Module):
    def __init__(self, n_fft: int, n_mels: int, f_min: float, f_max: float):
        super().__init__()
        self.register_buffer("fb", htk_filterbank(16000, n_fft, n_mels, f_min, f_max))  # also in the checkpoint


class MelPower(nn.Module):
    """Power mel spectrogram ``[B, N]`` -> ``[B, n_mels, 1 + N // hop]`` with the stored window and filterbank."""

    def __init__(self, n_fft: int, win_length: int, hop: int, n_mels: int, f_min: float, f_max: float):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.spectrogram = Spectrogram(win_length)
        self.mel_scale = MelScale(n_fft, n_mels, f_min, f_max)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mel_spectrogram(x, self.mel_scale.fb, self.n_fft, self.hop, self.spectrogram.window, power=2.0)


class MelBanks(nn.Module):
    """Wave ``[B, N]`` -> log-mel ``[B, F, T]`` with each bin's mean over time removed (float32)."""

    def __init__(
        self,
        n_mels: int,
        hop_length: int,
        n_fft: int = 512,
        win_length: int = 400,
        f_min: float = 20,
        f_max: float = 7600,
        norm_signal: bool = False,
        do_preemph: bool = True,
        spec_norm: str = "mn",
        sample_rate: int = 16000,
        **training_only,  # SpecAugment settings: inactive in eval
    ):
        super().__init__()
        if sample_rate != 16000 or spec_norm not in ("mn", "mvn"):
            raise ValueError(f"unsupported front end: sample_rate {sample_rate}, spec_norm {spec_norm!r}")
        self.spec_norm = spec_norm
        self.torchfbank = nn.Sequential(
            SignalNorm() if norm_signal else nn.Identity(),
            PreEmphasis() if do_preemph else nn.Identity(),
            MelPower(n_fft, win_length, hop_length, n_mels, f_min, f_max),
        )

    def mel_power(self, wave: torch.Tensor) -> torch.Tensor:
        return self.torchfbank(wave.float())

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        features = torch.log(self.mel_power(wave) + 1e-6)
        features = features - features.mean(dim=-1, keepdim=True)
        if self.spec_norm == "mvn":
            features = features / (features.std(dim=-1, keepdim=True) + 1e-8)
        return features


class AttentiveStatsPool(nn.Module):
    """ASTP: attention over time per channel -> weighted mean and std, ``[B, D, T]`` -> ``[B, 2D]``."""

    def __init__(self, channels: int, hidden: int = 128, global_context: bool = False):
        super().__init__()
        self.global_context = global_context
        self.linear1 = nn.Conv1d(channels * (3 if global_context else 1), hidden, 1)
        self.linear2 = nn.Conv1d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = x
        if self.global_context:
            frames = x.shape[-1]
            mean = x.mean(dim=-1, keepdim=True).expand(-1, -1, frames)
            std = torch.sqrt(x.var(dim=-1, keepdim=True) + 1e-7).expand(-1, -1, frames)
            context = torch.cat([x, mean, std], dim=1)
        alpha = self.linear2(torch.tanh(self.linear1(context))).softmax(dim=-1)
        mean = (alpha * x).sum(dim=-1)
        var = (alpha * x * x).sum(dim=-1) - mean * mean
        return torch.cat([mean, var.clamp(min=1e-7).sqrt()], dim=1)


class ReDimNet(nn.Module):
    def __init__(self, config: ReDimNetConfig):
        super().__init__()
        if config.feat_type not in ("pt", "pt_mel") or config.pooling_func != "ASTP" or config.num_classes is not None:
            raise ValueError(
                f"unsupported ReDimNet variant: feat_type {config.feat_type!r}, "
                f"pooling {config.pooling_func!r}, num_classes {config.num_classes}"
            )
        self.config = config
        self.spec = MelBanks(config.F, config.hop_length, **config.spec_params)
        self.backbone = Backbone(config)
        channels = config.out_channels or config.width
        self.pool = AttentiveStatsPool(channels, global_context=config.global_context_att)
        self.bn = nn.BatchNorm1d(2 * channels)
        self.linear = nn.Linear(2 * channels, config.embed_dim)
        if config.emb_bn:
            self.bn2 = nn.BatchNorm1d(config.embed_dim)

    def embed_features(self, features: torch.Tensor) -> torch.Tensor:
        """Log-mel ``[B, F, T]`` -> embedding ``[B, embed_dim]``."""
        embedding = self.linear(self.bn(self.pool(self.backbone(features.to(self.linear.weight.dtype)))))
        return self.bn2(embedding) if self.config.emb_bn else embedding

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """Mono 16 kHz ``[B, N]`` -> raw embedding ``[B, embed_dim]``."""
        return self.embed_features(self.spec(wave))
