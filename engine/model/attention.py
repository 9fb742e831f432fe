"""The one attention kernel of the model: full softmax attention, optionally block-diagonal.

flash-attn's varlen kernel runs it when the package is importable and the tensors are
half-precision on a GPU; ``torch.nn.functional.scaled_dot_product_attention`` otherwise.
Both compute ``softmax(q k^T / sqrt(head_dim)) v``. A block-diagonal mask (the modality
mask: video attends video, audio attends audio) is given as per-token segment ids; for
flash-attn the segments become varlen sequences, for SDPA a boolean mask.

Sequence parallelism wraps this function (all-to-all over heads before and after).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

try:
    from flash_attn import flash_attn_varlen_func
except ImportError:  # CPU machines, or no flash-attn build for this torch
    flash_attn_varlen_func = None


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, segment_ids: torch.Tensor | None = None
) -> torch.Tensor:
    """Attention of q [B, Lq, H, D] over k, v [B, Lk, H, D] -> [B, Lq, H, D].

    ``segment_ids`` [B, L] (self-attention only, Lq == Lk == L): a token attends only to
    tokens of its own segment. Segments must be contiguous runs. None: every query sees
    every key.
    """
    if _flash_applies(q):
        return _flash_varlen(q, k, v, segment_ids)
    mask = None if segment_ids is None else segment_ids[:, None, :, None] == segment_ids[:, None, None, :]
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask)
    return out.transpose(1, 2)


def _flash_applies(q: torch.Tensor) -> bool:
    return flash_attn_varlen_func is not None and q.is_cuda and q.dtype in (torch.float16, torch.bfloat16)


def _flash_varlen(q, k, v, segment_ids):
    batch, q_len, k_len = q.shape[0], q.shape[1], k.shape[1]
    if segment_ids is None:
        cu_q = _uniform_offsets(batch, q_len, q.device)
        cu_k = _uniform_offsets(batch, k_len, q.device)
        max_q, max_k = q_len, k_len
    else:
        cu_q = cu_k = _segment_offsets(segment_ids)
        max_q = max_k = int((cu_q[1:] - cu_q[:-1]).max())
    out = flash_attn_varlen_func(
        q.flatten(0, 1), k.flatten(0, 1), v.flatten(0, 1), cu_q, cu_k, max_q, max_k, causal=False
    )
    return out.unflatten(0, (batch, q_len))


def _uniform_offsets(batch: int, length: int, device) -> torch.Tensor:
    return torch.arange(0, (batch + 1) * length, length, dtype=torch.int32, device=device)


def _segment_offsets(segment_ids: torch.Tensor) -> torch.Tensor:
    """Offsets of every segment in the flattened [B, L] tokens, plus the end (int32)."""
    starts = torch.ones_like(segment_ids, dtype=torch.bool)
    starts[:, 1:] = segment_ids[:, 1:] != segment_ids[:, :-1]
    end = torch.tensor([segment_ids.numel()], device=segment_ids.device)
    return torch.cat([starts.flatten().nonzero().flatten(), end]).to(torch.int32)
