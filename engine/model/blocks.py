"""Transformer blocks: double-stream (per-modality weights) and single-stream (shared weights).

Both run the same Wan block over the joint [video; audio] sequence:

    x += self_attn(LN1(x) * (1 + scale_msa) + shift_msa) * gate_msa    joint softmax over all tokens
    x += cross_attn(LN3(x), context)                                    one shared text context
    x += ffn(LN2(x) * (1 + scale_ffn) + shift_ffn) * gate_ffn

A double-stream block gives each modality its own modulation and its own q/k/v/o (the
``*_audio`` twins); its norms and FFN are shared (``no_split_norm_ffn``). A single-stream
block has one set of weights for every token. Modulation is per token: ``e0`` carries each
token's timestep.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import torch
from einops import rearrange
from torch import nn

from engine.model.attention import attention
from engine.model.layout import Stream, TokenLayout
from engine.model.norms import LayerNorm, RMSNorm
from engine.model.rope import apply_rope


@dataclass
class BlockInputs:
    """What every block of one forward call shares."""

    layout: TokenLayout
    e0: torch.Tensor  # [B, L, 6, dim] per-token timestep projection, streams concatenated
    rope: torch.Tensor  # [L, head_dim // 2] complex128
    context: torch.Tensor  # [B, text_len, dim] embedded text (+ speaker rows)
    segment_ids: torch.Tensor | None  # [B, L] block-diagonal self-attention mask, None: full


@dataclass
class ModulationOut:
    """Per-token shift / scale / gate, each [B, L, dim]."""

    shift_msa: torch.Tensor
    scale_msa: torch.Tensor
    gate_msa: torch.Tensor
    shift_ffn: torch.Tensor
    scale_ffn: torch.Tensor
    gate_ffn: torch.Tensor

    @classmethod
    def cat(cls, parts: list[ModulationOut]) -> ModulationOut:
        """Join the modulations of consecutive token streams."""
        return cls(*(torch.cat([getattr(p, f.name) for p in parts], dim=1) for f in fields(cls)))


class Modulation(nn.Module):
    """A learned [1, 6, dim] offset added to the per-token ``e0``."""

    def __init__(self, dim: int):
        super().__init__()
        self.modulation = nn.Parameter(torch.randn(1, 6, dim) / dim**0.5)

    def forward(self, e0: torch.Tensor) -> ModulationOut:
        return ModulationOut(*(self.modulation.to(e0.dtype) + e0).unbind(dim=2))


class Projections(NamedTuple):
    q: nn.Linear
    k: nn.Linear
    v: nn.Linear
    o: nn.Linear
    norm_q: RMSNorm
    norm_k: RMSNorm


class AttentionWeights(nn.Module):
    """q/k/v/o with RMSNorm on q and k over the full dim; optionally ``*_audio`` twins."""

    attend = staticmethod(attention)  # the kernel; sequence parallelism wraps SelfAttention's

    def __init__(self, dim: int, num_heads: int, eps: float, audio_twins: bool):
        super().__init__()
        self.num_heads = num_heads
        self.audio_twins = audio_twins
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.norm_q, self.norm_k = RMSNorm(dim, eps), RMSNorm(dim, eps)
        if audio_twins:
            self.q_audio, self.k_audio, self.v_audio, self.o_audio = (nn.Linear(dim, dim) for _ in range(4))
            self.norm_q_audio, self.norm_k_audio = RMSNorm(dim, eps), RMSNorm(dim, eps)

    def projections(self, stream: Stream) -> Projections:
        if stream is Stream.AUDIO and self.audio_twins:
            return Projections(
                self.q_audio, self.k_audio, self.v_audio, self.o_audio, self.norm_q_audio, self.norm_k_audio
            )
        return Projections(self.q, self.k, self.v, self.o, self.norm_q, self.norm_k)

    def groups(self, x: torch.Tensor, layout: TokenLayout) -> list[tuple[Projections, torch.Tensor]]:
        """The runs of tokens that share weights: each stream with twins, else all of them."""
        if not self.audio_twins:
            return [(self.projections(Stream.VIDEO), x)]
        return [(self.projections(stream), part) for stream, part in layout.split(x)]

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(x, "b l (h d) -> b l h d", h=self.num_heads)


class SelfAttention(AttentionWeights):
    """Joint self-attention over the whole sequence, each token projected by its stream's weights."""

    def forward(self, x: torch.Tensor, inputs: BlockInputs) -> torch.Tensor:
        groups = self.groups(x, inputs.layout)
        q = torch.cat([self.heads(p.norm_q(p.q(part))) for p, part in groups], dim=1)
        k = torch.cat([self.heads(p.norm_k(p.k(part))) for p, part in groups], dim=1)
        v = torch.cat([self.heads(p.v(part)) for p, part in groups], dim=1)
        out = self.attend(apply_rope(q, inputs.rope), apply_rope(k, inputs.rope), v, inputs.segment_ids)
        out = rearrange(out, "b l h d -> b l (h d)").split([part.shape[1] for _, part in groups], dim=1)
        return torch.cat([p.o(o) for (p, _), o in zip(groups, out)], dim=1)


class CrossAttention(AttentionWeights):
    """Attention from each stream's tokens to the text context, with that stream's weights."""

    def forward(self, x: torch.Tensor, inputs: BlockInputs) -> torch.Tensor:
        outs = []
        for p, part in self.groups(x, inputs.layout):
            q = self.heads(p.norm_q(p.q(part)))
            k = self.heads(p.norm_k(p.k(inputs.context)))
            v = self.heads(p.v(inputs.context))
            outs.append(p.o(rearrange(self.attend(q, k, v), "b l h d -> b l (h d)")))
        return torch.cat(outs, dim=1)


class SingleStreamBlock(nn.Module):
    """The Wan block with one set of weights for every token of the joint sequence."""

    audio_twins = False  # whether the attention layers carry ``*_audio`` projections

    def __init__(self, dim: int, ffn_dim: int, num_heads: int, eps: float):
        super().__init__()
        self.norm1 = LayerNorm(dim, eps, elementwise_affine=False)
        self.self_attn = SelfAttention(dim, num_heads, eps, self.audio_twins)
        self.norm3 = LayerNorm(dim, eps, elementwise_affine=True)
        self.cross_attn = CrossAttention(dim, num_heads, eps, self.audio_twins)
        self.norm2 = LayerNorm(dim, eps, elementwise_affine=False)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(approximate="tanh"), nn.Linear(ffn_dim, dim))
        self.modulation = Modulation(dim)

    def modulate(self, inputs: BlockInputs) -> ModulationOut:
        return self.modulation(inputs.e0)

    def forward(self, x: torch.Tensor, inputs: BlockInputs) -> torch.Tensor:
        """x: [B, L, dim] joint residual stream -> same shape."""
        m = self.modulate(inputs)
        x = x + self.self_attn(self.norm1(x) * (1 + m.scale_msa) + m.shift_msa, inputs) * m.gate_msa
        x = x + self.cross_attn(self.norm3(x), inputs)
        return x + self.ffn(self.norm2(x) * (1 + m.scale_ffn) + m.shift_ffn) * m.gate_ffn


class DoubleStreamBlock(SingleStreamBlock):
    """Per-modality modulation and attention projections; shared norms and FFN."""

    audio_twins = True

    def __init__(self, dim: int, ffn_dim: int, num_heads: int, eps: float):
        super().__init__(dim, ffn_dim, num_heads, eps)
        self.modulation_audio = Modulation(dim)

    def modulate(self, inputs: BlockInputs) -> ModulationOut:
        per_stream = {Stream.VIDEO: self.modulation, Stream.AUDIO: self.modulation_audio}
        return ModulationOut.cat([per_stream[stream](e0) for stream, e0 in inputs.layout.split(inputs.e0)])
