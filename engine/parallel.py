"""Ulysses sequence parallelism: one DiT forward split over the ranks of a process group.

Between the input embeddings and the output heads every rank holds one contiguous slice
of the joint [video; audio] sequence, padded at its end to a multiple of the group size:

    rank r:  tokens [r*c, (r+1)*c)  of  [video | audio | padding],   c = ceil(L / n)

Everything per token is sliced the same way (the residual stream, the per-token timestep
modulation ``e0``, the RoPE table; padding gets zeros and the identity rotation), so each
token keeps its position, its timestep and its stream's weights. Self-attention is the
one place where tokens meet: an all-to-all turns the sequence split into a head split
(every rank sees all L tokens for ``heads / n`` heads), the padding is cut off — so no
query ever sees a padding key and the modality mask applies unchanged — and a second
all-to-all turns the result back. Cross-attention and the FFN are per token; the heads
run on the gathered sequence. The forward means the same as on one device.

    with sequence_parallel(model, group):   # NCCL on GPU, gloo on CPU
        prediction = model(video, audio, ...)

Every rank of the group makes the same call with the same inputs and gets the whole output.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
import torch.distributed as dist
from einops import rearrange
from torch import Tensor

from engine.errors import EngineError
from engine.model.attention import attention
from engine.model.blocks import BlockInputs, SelfAttention
from engine.model.layout import Stream, TokenLayout
from engine.model.wan_av import WanAVModel


@dataclass(frozen=True)
class ShardLayout:
    """The runs of each stream in one rank's slice (the padding counts with the last stream).

    Blocks only ``split`` a tensor into its streams, so this stands in for the
    :class:`TokenLayout` of the whole sequence inside the blocks.
    """

    streams: tuple[tuple[Stream, int], ...]

    @classmethod
    def of(cls, layout: TokenLayout, start: int, stop: int, padded_len: int) -> ShardLayout:
        """The slice ``[start, stop)`` of ``layout``'s sequence padded to ``padded_len``."""
        runs, offset = [], 0
        for i, (stream, length) in enumerate(layout.streams):
            end = padded_len if i == len(layout.streams) - 1 else offset + length
            overlap = min(stop, end) - max(start, offset)
            if overlap > 0:
                runs.append((stream, overlap))
            offset = end
        return cls(tuple(runs))

    def split(self, x: torch.Tensor) -> list[tuple[Stream, torch.Tensor]]:
        parts = x.split([length for _, length in self.streams], dim=1)
        return [(stream, part) for (stream, _), part in zip(self.streams, parts)]


class SequenceParallel:
    """Shards a forward's sequence over ``group`` and runs its self-attention head-split."""

    def __init__(self, group: dist.ProcessGroup | None = None):
        self.group = group
        self.size = dist.get_world_size(group)
        self.rank = dist.get_rank(group)
        self.length = 0  # real tokens of the forward in flight (set by shard)

    def check_heads(self, num_heads: int) -> None:
        if num_heads % self.size:
            fits = [n for n in range(1, num_heads + 1) if num_heads % n == 0]
            raise EngineError(
                f"sequence parallel: the model's {num_heads} attention heads do not split over a group of"
                f" {self.size} ranks",
                hint=f"use a group size that divides {num_heads}: {', '.join(map(str, fits))}",
            )

    def chunk(self, length: int) -> int:
        return math.ceil(length / self.size)

    def shard(self, x: torch.Tensor, inputs: BlockInputs) -> tuple[torch.Tensor, BlockInputs]:
        """This rank's slice of the residual stream [B, L, dim] and of everything per token."""
        self.length = length = x.shape[1]
        chunk = self.chunk(length)
        padded, start = chunk * self.size, chunk * self.rank
        rows = slice(start, start + chunk)
        rope = inputs.rope
        identity = torch.ones(padded - length, rope.shape[1], dtype=rope.dtype, device=rope.device)  # no rotation
        local = replace(
            inputs,
            layout=ShardLayout.of(inputs.layout, start, start + chunk, padded),
            e0=_pad_tokens(inputs.e0, padded)[:, rows],
            rope=torch.cat([rope, identity])[rows],
        )
        return _pad_tokens(x, padded)[:, rows], local

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Every rank's slice [B, c, dim] -> the whole sequence [B, L, dim] on every rank."""
        gathered = x.new_empty((self.size * x.shape[0], *x.shape[1:]))
        _all_gather(gathered, x.contiguous(), group=self.group)
        return rearrange(gathered, "(n b) l d -> b (n l) d", n=self.size)[:, : self.length]

    def attend(self, q: Tensor, k: Tensor, v: Tensor, segment_ids: Tensor | None = None) -> Tensor:
        """Self-attention of local q, k, v [B, c, H, D] over the whole sequence -> [B, c, H, D].

        The padding is cut off before the kernel: no query sees a padding key, and the
        segment ids (the modality mask) are those of the whole, unpadded sequence."""
        q, k, v = (self._heads_split(t)[:, : self.length] for t in (q, k, v))
        out = attention(q, k, v, segment_ids)
        return self._sequence_split(_pad_tokens(out, self.chunk(self.length) * self.size))

    def _heads_split(self, x: torch.Tensor) -> torch.Tensor:
        """[B, c, H, D] (my tokens, all heads) -> [B, n*c, H/n, D] (all tokens, my heads)."""
        send = rearrange(x, "b l (n h) d -> n b l h d", n=self.size).contiguous()
        return rearrange(self._all_to_all(send), "n b l h d -> b (n l) h d")

    def _sequence_split(self, x: torch.Tensor) -> torch.Tensor:
        """[B, n*c, H/n, D] (all tokens, my heads) -> [B, c, H, D] (my tokens, all heads)."""
        send = rearrange(x, "b (n l) h d -> n b l h d", n=self.size).contiguous()
        return rearrange(self._all_to_all(send), "n b l h d -> b l (n h) d")

    def _all_to_all(self, send: torch.Tensor) -> torch.Tensor:
        """Row i of ``send`` goes to rank i; row i of the result came from rank i."""
        received = torch.empty_like(send)
        dist.all_to_all_single(received, send, group=self.group)
        return received

    # -- installing ---------------------------------------------------------------------------

    def install(self, model: WanAVModel) -> None:
        """Make ``model``'s forward run sharded over the group (until :meth:`remove`)."""
        self.check_heads(model.config.num_heads)
        model.sequence_parallel = self
        for module in model.modules():
            if isinstance(module, SelfAttention):
                module.attend = self.attend

    @staticmethod
    def remove(model: WanAVModel) -> None:
        """Back to one device: the class's own attention and no sharding."""
        for module in model.modules():
            if isinstance(module, SelfAttention) and "attend" in module.__dict__:
                del module.attend
        model.__dict__.pop("sequence_parallel", None)


@contextmanager
def sequence_parallel(model: WanAVModel, group: dist.ProcessGroup | None = None) -> Iterator[SequenceParallel]:
    """Run ``model``'s forwards inside the block split over ``group`` (default: the world)."""
    parallel = SequenceParallel(group)
    parallel.install(model)
    try:
        yield parallel
    finally:
        parallel.remove(model)


def init_distributed() -> dist.ProcessGroup:
    """Join the torchrun world (env ``RANK``, ``WORLD_SIZE``, ...): NCCL on GPU, gloo on CPU.

    On GPU each process takes the GPU ``LOCAL_RANK``. Returns the world group.
    """
    if "WORLD_SIZE" not in os.environ:
        raise EngineError("not started by torchrun", hint="run it as: torchrun --nproc_per_node=N -m ...")
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return dist.group.WORLD


# torch >= 2.10 names it all_gather_single (all_gather_into_tensor is deprecated there)
_all_gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor


def _pad_tokens(x: torch.Tensor, length: int) -> torch.Tensor:
    """Zero-pad dim 1 of ``x`` [B, L, ...] to ``length``."""
    extra = length - x.shape[1]
    if not extra:
        return x
    return torch.cat([x, x.new_zeros((x.shape[0], extra, *x.shape[2:]))], dim=1)
