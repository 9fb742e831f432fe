"""The engine protocol: a ShotRequest in, a Clip out.

Every engine (the animatic, the NAVA adapter) implements :class:`Engine`. Nothing here
imports torch: the render path decides when the heavy engines load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from nava_director.clip import Clip
from nava_director.progress import Progress


@dataclass(frozen=True)
class SpeechLine:
    """One speech span of the shot in caption order, with the voice bound to it."""

    text: str
    speaker: str | None  # character id, None for a span nobody voices
    name: str | None  # the character's display name
    voice: Path | None  # reference WAV, None -> the model's null speaker


@dataclass
class ShotRequest:
    shot_id: str
    caption: str  # in the model's markup: spans as <S>words<E>
    speech: list[SpeechLine]
    width: int
    height: int
    frames: int  # 4k+1 pixel frames at `fps`
    fps: int  # the render rate (24 for NAVA)
    seed: int
    steps: int
    first_frame: np.ndarray | None = None  # uint8 [H,W,3] of any size: the continued/given first frame
    guidance: dict[str, float] | None = None  # s_v, s_a, s_va, s_aa, s_t; None: engine defaults
    negative_prompt: str | None = None  # None: the engine's own
    # what an animatic draws on its card; engines that synthesise from the caption ignore it
    card: dict[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


class Engine(Protocol):
    id: str  # enters every shot's key: changing engine or weights re-renders

    def render(self, request: ShotRequest, progress: Progress | None = None) -> Clip:
        """Render ``request``; report the work's steps through ``progress.step``. The first
        frame, when given, is any size: the engine fits it to the request's."""
