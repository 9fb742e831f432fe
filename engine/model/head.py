"""Output heads (modulated LayerNorm + Linear) and video unpatchify."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from engine.model.norms import LayerNorm


class Head(nn.Module):
    """``Linear(LN(x) * (1 + scale) + shift)`` with (shift, scale) = modulation + e (not e0)."""

    def __init__(self, dim: int, out_dim: int, eps: float):
        super().__init__()
        self.norm = LayerNorm(dim, eps, elementwise_affine=False)
        self.head = nn.Linear(dim, out_dim)
        self.modulation = nn.Parameter(torch.randn(1, 2, dim) / dim**0.5)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """x, e: [B, L, dim] -> [B, L, out_dim]."""
        shift, scale = (self.modulation.to(e.dtype) + e[:, :, None]).unbind(dim=2)
        return self.head(self.norm(x) * (1 + scale) + shift)


def unpatchify(tokens: torch.Tensor, grid: tuple[int, int, int], patch_size: tuple[int, int, int]) -> torch.Tensor:
    """[B, F*H'*W', p*q*r*C] head output (C fastest) -> [B, C, F*p, H'*q, W'*r]."""
    (f, h, w), (p, q, r) = grid, patch_size
    return rearrange(tokens, "b (f h w) (p q r c) -> b c (f p) (h q) (w r)", f=f, h=h, w=w, p=p, q=q, r=r)
