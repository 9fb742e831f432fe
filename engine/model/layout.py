"""The joint token sequence: video tokens (f, h, w row-major) first, then audio tokens."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import torch


class Stream(Enum):
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True)
class TokenLayout:
    """Which modalities a call carries and how many tokens each has.

    ``video_grid`` is the (F, H', W') token grid after patchify (None: no video);
    ``audio_len`` the number of audio tokens (0: no audio).
    """

    video_grid: tuple[int, int, int] | None = None
    audio_len: int = 0

    def __post_init__(self) -> None:
        if self.video_grid is None and not self.audio_len:
            raise ValueError("a call needs video, audio or both")

    @property
    def video_len(self) -> int:
        return math.prod(self.video_grid) if self.video_grid is not None else 0

    @property
    def total_len(self) -> int:
        return self.video_len + self.audio_len

    @property
    def streams(self) -> list[tuple[Stream, int]]:
        """The present streams with their token counts, in sequence order."""
        spans = [(Stream.VIDEO, self.video_len), (Stream.AUDIO, self.audio_len)]
        return [(stream, length) for stream, length in spans if length]

    def split(self, x: torch.Tensor) -> list[tuple[Stream, torch.Tensor]]:
        """Cut a [B, L, ...] tensor into its streams."""
        parts = x.split([length for _, length in self.streams], dim=1)
        return [(stream, part) for (stream, _), part in zip(self.streams, parts)]

    def segment_ids(self, modality_mask: torch.Tensor) -> torch.Tensor | None:
        """[B, L] ids for the attention's block-diagonal mask, or None where no sample masks.

        ``modality_mask`` [B] bool: samples where video attends only video and audio only audio.
        """
        if not bool(modality_mask.any()) or len(self.streams) < 2:
            return None
        per_token = torch.cat([torch.full((length,), i) for i, (_, length) in enumerate(self.streams)])
        return per_token.to(modality_mask.device) * modality_mask.long()[:, None]
