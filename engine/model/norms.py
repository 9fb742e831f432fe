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
        # F.rms_norm computes half-precision inputs in fp32 and rounds once: x.float() * rsqrt(...)
        return F.rms_norm(x, (x.shape[-1],), eps=self.eps) * self.weight.to(x.dtype)


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` computed in fp32 (affine included), returned in the input dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight is None:  # the kernel computes a half-precision input in fp32 and rounds once
            return F.layer_norm(x, self.normalized_shape, None, None, self.eps)
        # an fp32 affine on a half-precision input: not every device's kernel takes mixed dtypes
        weight, bias = self.weight.float(), None if self.bias is None else self.bias.float()
        return F.layer_norm(x.float(), self.normalized_shape, weight, bias, self.eps).to(x.dtype)
