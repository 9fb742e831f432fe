"""The analytic FLOP count of one WanAVModel forward, as a list of matrix products.

Every product the model computes is listed with its shape: the Linear/Conv layers as
GEMMs ``[m, k] @ [k, n]`` (a convolution as the GEMM of its unfolded patches), attention
as batched products over heads (``q k^T`` and ``p v``). A product costs ``2 m k n`` FLOPs.
Norms, modulation, RoPE, activations and the softmax are not counted (a few FLOPs per
element, next to thousands per element for the products): they are the overhead that the
forward benchmark measures against a bare matmul.

The same list serves both benchmarks: ``forward`` times a bare ``torch.matmul`` on each
shape, ``gpu_paper`` sums it for a full-size render.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from engine.config import ModelConfig
from engine.model.embeddings import ConvMLP

# the groups the terms are printed in
EMBED, SELF_PROJ, SELF_ATTN, CROSS_PROJ, CROSS_ATTN, FFN, HEAD = (
    "embeddings (patch, text, time, speaker)",
    "self-attn q/k/v/o projections",
    "self-attn q k^T and p v",
    "text cross-attn q/k/v/o projections",
    "text cross-attn q k^T and p v",
    "FFN",
    "output heads",
)
GROUPS = (EMBED, SELF_PROJ, SELF_ATTN, CROSS_PROJ, CROSS_ATTN, FFN, HEAD)


@dataclass(frozen=True)
class Matmul:
    """``count`` times ``batch`` independent products ``[m, k] @ [k, n]``."""

    name: str
    group: str
    m: int
    k: int
    n: int
    batch: int = 1
    count: int = 1

    @property
    def flops(self) -> int:
        return 2 * self.batch * self.m * self.k * self.n * self.count

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.batch, self.m, self.k, self.n


@dataclass(frozen=True)
class ForwardShape:
    """What one forward call carries: the video token grid (after patchify), audio tokens, batch."""

    video_grid: tuple[int, int, int]
    audio_len: int
    batch: int = 1
    speakers: int = 0  # speaker slots written into the context
    modality_mask: bool = False  # block-diagonal self-attention (the ALIGN pass), counted per segment

    @property
    def video_len(self) -> int:
        return math.prod(self.video_grid)

    @property
    def streams(self) -> list[tuple[str, int]]:
        return [(name, n) for name, n in (("video", self.video_len), ("audio", self.audio_len)) if n]

    @property
    def total_len(self) -> int:
        return self.video_len + self.audio_len

    @classmethod
    def for_clip(
        cls, config: ModelConfig, width: int, height: int, latent_frames: int, audio_tokens: int, **kwargs
    ) -> ForwardShape:
        """The call for a clip of ``width`` x ``height`` pixels (16x spatial VAE, then the patch)."""
        _, q, r = config.patch_size
        return cls((latent_frames, height // 16 // q, width // 16 // r), audio_tokens, **kwargs)


def forward_matmuls(config: ModelConfig, shape: ForwardShape) -> list[Matmul]:
    """Every matrix product of one forward, in the order the model runs them."""
    return [
        *_embeddings(config, shape),
        *_blocks(config, shape, double=True),
        *_blocks(config, shape, double=False),
        *_heads(config, shape),
    ]


def total_flops(terms: list[Matmul]) -> int:
    return sum(t.flops for t in terms)


def flops_by_group(terms: list[Matmul]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for term in terms:
        out[term.group] += term.flops
    return {group: out[group] for group in GROUPS if group in out}


def _embeddings(c: ModelConfig, s: ForwardShape) -> list[Matmul]:
    b, d, lv, la = s.batch, c.dim, s.video_len, s.audio_len
    terms = [
        Matmul("text_embedding", EMBED, b * c.text_len, c.text_dim, d),
        Matmul("text_embedding 2", EMBED, b * c.text_len, d, d),
    ]
    if lv:
        terms.append(Matmul("patch_embedding (conv3d)", EMBED, b * lv, c.vid_in_dim * math.prod(c.patch_size), d))
    if la:
        hidden = _conv_mlp_hidden(d)
        terms += [
            Matmul("patch_embedding_audio conv k7", EMBED, b * la, 7 * c.audio_in_dim, d),
            Matmul("patch_embedding_audio w1, w3 k7", EMBED, b * la, 7 * d, hidden, count=2),
            Matmul("patch_embedding_audio w2 k7", EMBED, b * la, 7 * hidden, d),
        ]
    for stream, n in s.streams:  # timesteps are per token
        terms += [
            Matmul(f"time_embedding ({stream})", EMBED, b * n, c.freq_dim, d),
            Matmul(f"time_embedding 2 ({stream})", EMBED, b * n, d, d),
            Matmul(f"time_projection ({stream})", EMBED, b * n, d, 6 * d),
        ]
    if s.speakers:
        terms += [
            Matmul("speaker_embedding", EMBED, b * s.speakers, c.speaker_dim, d),
            Matmul("speaker_embedding 2", EMBED, b * s.speakers, d, d),
        ]
    return terms


def _conv_mlp_hidden(dim: int) -> int:
    """The audio embedding's gated conv MLP width (built on the meta device: no memory)."""
    import torch

    with torch.device("meta"):
        return ConvMLP(dim, 4 * dim).w1.out_channels


def _blocks(c: ModelConfig, s: ForwardShape, double: bool) -> list[Matmul]:
    """The products of every double-stream (or single-stream) block."""
    n_blocks = c.num_double_layers if double else c.num_single_layers
    if not n_blocks:
        return []
    b, d, h, hd, lt = s.batch, c.dim, c.num_heads, c.head_dim, c.text_len
    kind = "double" if double else "single"
    # a double block projects each stream with its own weights, a single one all tokens at once
    groups = s.streams if double else [("joint", s.total_len)]
    segments = [n for _, n in s.streams] if s.modality_mask else [s.total_len]
    terms = []
    for name, n in groups:
        terms += [
            Matmul(f"{kind} self_attn q/k/v/o ({name})", SELF_PROJ, b * n, d, d, count=4 * n_blocks),
            Matmul(f"{kind} cross_attn q/o ({name})", CROSS_PROJ, b * n, d, d, count=2 * n_blocks),
            Matmul(f"{kind} cross_attn k/v of the text ({name} weights)", CROSS_PROJ, b * lt, d, d, count=2 * n_blocks),
            Matmul(f"{kind} cross_attn q k^T ({name})", CROSS_ATTN, n, hd, lt, batch=b * h, count=n_blocks),
            Matmul(f"{kind} cross_attn p v ({name})", CROSS_ATTN, n, lt, hd, batch=b * h, count=n_blocks),
        ]
    for n in segments:
        terms += [
            Matmul(f"{kind} self_attn q k^T ({n} tokens)", SELF_ATTN, n, hd, n, batch=b * h, count=n_blocks),
            Matmul(f"{kind} self_attn p v ({n} tokens)", SELF_ATTN, n, n, hd, batch=b * h, count=n_blocks),
        ]
    terms += [
        Matmul(f"{kind} ffn up", FFN, b * s.total_len, d, c.ffn_dim, count=n_blocks),
        Matmul(f"{kind} ffn down", FFN, b * s.total_len, c.ffn_dim, d, count=n_blocks),
    ]
    return terms


def _heads(c: ModelConfig, s: ForwardShape) -> list[Matmul]:
    terms = []
    if s.video_len:
        terms.append(
            Matmul("head (video)", HEAD, s.batch * s.video_len, c.dim, math.prod(c.patch_size) * c.vid_out_dim)
        )
    if s.audio_len:
        terms.append(Matmul("head_audio", HEAD, s.batch * s.audio_len, c.dim, c.audio_out_dim))
    return terms
