"""Rotary position tables: 3-D for video tokens, scaled 1-D for audio tokens.

A head of ``head_dim`` channels holds ``head_dim // 2`` complex pairs (channels 2j, 2j+1).
Video splits the pairs over (t, h, w) as ``[d - 4*(d//6), 2*(d//6), 2*(d//6)] / 2``
(22/21/21 for d = 128). Audio rotates only the first ``(d - 4*(d//6)) / 2`` pairs, with the
temporal frequencies scaled (0.24 in NAVA: ~6 latent frames/s against 25 audio tokens/s);
its other pairs are left as they are. Positions start at 0 for both modalities.

Tables are complex128 and the rotation runs in float64, as the reference does; the result
is cast back to the input dtype.
"""

from __future__ import annotations

import torch
from einops import repeat

from engine.model.layout import TokenLayout

THETA = 10000.0


def axis_dims(head_dim: int) -> tuple[int, int, int]:
    """Channels (twice the complex pairs) rotated by the t, h and w axes."""
    sixth = head_dim // 6
    return head_dim - 4 * sixth, 2 * sixth, 2 * sixth


def rotary_table(num_positions: int, dim: int, scale: float = 1.0) -> torch.Tensor:
    """``[num_positions, dim // 2]`` complex128: ``exp(i * pos * scale / THETA**(2j/dim))``."""
    inv_freq = 1.0 / torch.pow(THETA, torch.arange(0, dim, 2, dtype=torch.float64).div(dim))
    angles = torch.outer(torch.arange(num_positions, dtype=torch.float64), scale * inv_freq)
    return torch.polar(torch.ones_like(angles), angles)


def video_rope(grid: tuple[int, int, int], head_dim: int) -> torch.Tensor:
    """``[F*H*W, head_dim // 2]`` complex128 for tokens in (f, h, w) row-major order."""
    f, h, w = grid
    dt, dh, dw = axis_dims(head_dim)
    return torch.cat(
        [
            repeat(rotary_table(f, dt), "f c -> (f h w) c", h=h, w=w),
            repeat(rotary_table(h, dh), "h c -> (f h w) c", f=f, w=w),
            repeat(rotary_table(w, dw), "w c -> (f h w) c", f=f, h=h),
        ],
        dim=1,
    )


def audio_rope(length: int, head_dim: int, scale: float) -> torch.Tensor:
    """``[length, head_dim // 2]`` complex128: scaled temporal pairs first, then identity."""
    rotated = rotary_table(length, axis_dims(head_dim)[0], scale)
    identity = torch.ones(length, head_dim // 2 - rotated.shape[1], dtype=torch.complex128)
    return torch.cat([rotated, identity], dim=1)


def joint_rope(layout: TokenLayout, head_dim: int, audio_scale: float) -> torch.Tensor:
    """``[layout.total_len, head_dim // 2]``: the table of every token of the joint sequence."""
    tables = []
    if layout.video_grid is not None:
        tables.append(video_rope(layout.video_grid, head_dim))
    if layout.audio_len:
        tables.append(audio_rope(layout.audio_len, head_dim, audio_scale))
    return torch.cat(tables, dim=0)


def apply_rope(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` [B, L, heads, head_dim] by ``table`` [L, head_dim // 2] (float64 math)."""
    pairs = torch.view_as_complex(x.to(torch.float64).unflatten(-1, (-1, 2)).contiguous())
    rotated = pairs * table.to(x.device)[:, None, :]
    return torch.view_as_real(rotated).flatten(-2).to(x.dtype)
