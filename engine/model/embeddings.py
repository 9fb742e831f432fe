"""Input embeddings: video and audio patches, text, timesteps, speaker tokens.

Every module casts its input to its weights' dtype first (the run dtype): that is what the
reference's bf16 autocast does to the inputs of its Linear and Conv layers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from engine.model.norms import LayerNorm


class VideoPatchEmbedding(nn.Conv3d):
    """[B, C, F, H, W] latent -> [B, F*H'*W', dim] tokens in (f, h, w) row-major order.

    A Conv3d whose stride is its kernel is a Linear over the flattened patches; it runs as
    one (a GEMM: oneDNN's bf16 convolution is several times slower on CPUs).
    """

    def __init__(self, in_dim: int, dim: int, patch_size: tuple[int, int, int]):
        super().__init__(in_dim, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        p, q, r = self.kernel_size
        patches = rearrange(video.to(self.weight.dtype), "b c (f p) (h q) (w r) -> b (f h w) (c p q r)", p=p, q=q, r=r)
        return F.linear(patches, self.weight.flatten(1), self.bias)


class ChannelLastConv1d(nn.Conv1d):
    """Conv1d (stride 1, "same" padding) over the token axis of [B, L, C].

    Runs as one GEMM over the unfolded windows ``[B, L, C*k] @ [C*k, out]``: the same sum
    as the convolution, at GEMM speed (oneDNN's bf16 convolution is several times slower).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (k,), (pad,) = self.kernel_size, self.padding
        windows = F.pad(x, (0, 0, pad, pad)).unfold(1, k, 1)  # [B, L, C, k]
        return F.linear(windows.flatten(2), self.weight.flatten(1), self.bias)


class ConvMLP(nn.Module):
    """Gated conv MLP ``w2(silu(w1 x) * w3 x)``, bias-free, hidden = 2/3 * hidden rounded up to 256."""

    def __init__(self, dim: int, hidden_dim: int, kernel_size: int = 7, multiple_of: int = 256):
        super().__init__()
        hidden = multiple_of * math.ceil(int(2 * hidden_dim / 3) / multiple_of)
        conv = dict(kernel_size=kernel_size, padding=kernel_size // 2, bias=False)
        self.w1 = ChannelLastConv1d(dim, hidden, **conv)
        self.w2 = ChannelLastConv1d(hidden, dim, **conv)
        self.w3 = ChannelLastConv1d(dim, hidden, **conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class AudioPatchEmbedding(nn.Sequential):
    """[B, L, C_a] latent -> [B, L, dim]: conv(k=7) -> SiLU -> gated conv MLP; one token per frame."""

    def __init__(self, in_dim: int, dim: int):
        super().__init__(ChannelLastConv1d(in_dim, dim, kernel_size=7, padding=3), nn.SiLU(), ConvMLP(dim, 4 * dim))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return super().forward(audio.to(self[0].weight.dtype))


class TextEmbedding(nn.Sequential):
    """[B, L <= text_len, text_dim] encoder output -> zero-padded to text_len -> [B, text_len, dim].

    The padded rows are embedded too and cross-attention attends to them (no length mask),
    as the checkpoint was trained.
    """

    def __init__(self, text_dim: int, dim: int, text_len: int):
        super().__init__(nn.Linear(text_dim, dim), nn.GELU(approximate="tanh"), nn.Linear(dim, dim))
        self.text_len = text_len

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        if context.shape[1] > self.text_len:
            raise ValueError(f"text context has {context.shape[1]} tokens, the model takes at most {self.text_len}")
        padded = F.pad(context, (0, 0, 0, self.text_len - context.shape[1]))
        return super().forward(padded.to(self[0].weight.dtype))


def sinusoid(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Timestep features ``cat(cos(t w), sin(t w))``, ``w_j = 10000^(-j / (dim/2))``, float64."""
    half = dim // 2
    t = t.to(torch.float64)
    angles = t[..., None] * torch.pow(10000, -torch.arange(half, dtype=torch.float64, device=t.device).div(half))
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class SpeakerToken(nn.Module):
    """192-d speaker embedding -> LN -> Linear -> SiLU -> Linear -> LN -> one context row.

    An all-zero embedding (squared norm <= 1e-6) selects the learned ``null_token`` instead.
    """

    def __init__(self, dim: int, speaker_dim: int = 192, null_eps: float = 1e-6):
        super().__init__()
        self.null_eps = null_eps
        self.net = nn.Sequential(LayerNorm(speaker_dim), nn.Linear(speaker_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.out_norm = LayerNorm(dim)
        self.null_token = nn.Parameter(torch.zeros(1, dim))

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        """[..., speaker_dim] -> [..., dim] in the run dtype."""
        dtype = self.net[1].weight.dtype
        normed = self.net[0](embedding.float()).to(dtype)
        token = self.out_norm(self.net[1:](normed))
        is_null = embedding.float().pow(2).sum(dim=-1, keepdim=True) <= self.null_eps
        return torch.where(is_null, self.null_token[0].to(dtype), token)
