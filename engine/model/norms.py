"""Normalisations with their statistics in fp32 whatever the activation dtype.

This is the reference's dtype flow under bf16 autocast: the statistics run in fp32, the
normalised values are rounded back to the activation dtype, RMSNorm's weight multiplies in
the activation dtype, LayerNorm's affine is applied in fp32 before the rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return normed.to(x.dtype) * self.weight.to(x.dtype)


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` computed in fp32 (affine included), returned in the input dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = None if self.weight is None else self.weight.float()
        bias = None if self.bias is None else self.bias.float()
        return F.layer_norm(x.float(), self.normalized_shape, weight, bias, self.eps).to(x.dtype)
