"""A clip in memory: frames and sound, what an engine renders and what the cut reads back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Clip:
    frames: np.ndarray  # uint8 [T,H,W,3]
    audio: np.ndarray  # float32 [2,N], stereo
    sample_rate: int
    fps: int

    @property
    def seconds(self) -> float:
        return self.frames.shape[0] / self.fps
