"""The attention kernel: block-diagonal masking, and the flash-attn varlen route's bookkeeping."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import engine.model.attention as kernel
from engine.model.layout import TokenLayout


def varlen_by_hand(q, k, v, cu_q, cu_k, max_q, max_k, causal=False):
    """flash_attn_varlen_func's contract, written with SDPA one sequence at a time."""
    assert q.ndim == 3 and cu_q.dtype == torch.int32 and not causal
    out = torch.empty_like(q)
    for i in range(len(cu_q) - 1):
        (qs, qe), (ks, ke) = cu_q[i : i + 2].tolist(), cu_k[i : i + 2].tolist()
        assert qe - qs <= max_q and ke - ks <= max_k
        seq = F.scaled_dot_product_attention(*(t.transpose(0, 1) for t in (q[qs:qe], k[ks:ke], v[ks:ke])))
        out[qs:qe] = seq.transpose(0, 1)
    return out


def test_modality_mask_is_block_diagonal():
    layout = TokenLayout(video_grid=(1, 2, 3), audio_len=4)
    segments = layout.segment_ids(torch.tensor([True, False]))
    assert segments.tolist() == [[0] * 6 + [1] * 4, [0] * 10]
    assert layout.segment_ids(torch.tensor([False, False])) is None
    q, k, v = torch.randn(3, 2, 10, 2, 8).unbind(0)
    out = kernel.attention(q, k, v, segments)
    video_alone = kernel.attention(q[:1, :6], k[:1, :6], v[:1, :6])
    audio_alone = kernel.attention(q[:1, 6:], k[:1, 6:], v[:1, 6:])
    torch.testing.assert_close(out[:1], torch.cat([video_alone, audio_alone], dim=1))
    torch.testing.assert_close(out[1:], kernel.attention(q[1:], k[1:], v[1:]))


def test_flash_route_matches_sdpa(monkeypatch):
    q, k, v = torch.randn(3, 2, 10, 2, 8).unbind(0)
    context = torch.randn(2, 2, 5, 2, 8)
    segments = TokenLayout(video_grid=(1, 2, 3), audio_len=4).segment_ids(torch.tensor([True, False]))
    expected_self = kernel.attention(q, k, v, segments)
    expected_cross = kernel.attention(q, context[0], context[1])
    monkeypatch.setattr(kernel, "flash_attn_varlen_func", varlen_by_hand)
    monkeypatch.setattr(kernel, "_flash_applies", lambda q: True)
    torch.testing.assert_close(kernel.attention(q, k, v, segments), expected_self)
    torch.testing.assert_close(kernel.attention(q, context[0], context[1]), expected_cross)
