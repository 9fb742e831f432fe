"""A take's clip decoded once for the checks: small frames, the sound at 48 and 16 kHz.

The picture checks look at frames scaled to ``ANALYSIS_WIDTH`` pixels wide (solid colour,
frozen picture, flicker and seams show at that size, and a 1280-pixel take decodes into
far less memory); the sound checks read the 48 kHz stereo track, the speech checks a
16 kHz mono mix of it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nava_director.cut.clipfile import read_audio

ANALYSIS_WIDTH = 160
SAMPLE_RATE = 48_000
SPEECH_RATE = 16_000


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """(w, h) at ANALYSIS_WIDTH wide (never wider than the source), even numbers."""
    w = min(width, ANALYSIS_WIDTH)
    h = max(2, round(height * w / width / 2) * 2)
    return w, h


def scaled(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` uint8 [H,W,3] at ``size`` (w, h), area-averaged."""
    from PIL import Image

    if image.shape[1::-1] == size:
        return image
    return np.asarray(Image.fromarray(image).convert("RGB").resize(size, Image.Resampling.BOX))


@dataclass
class TakeMedia:
    """The clip at ``path``, decoded on first use."""

    path: Path

    @functools.cached_property
    def _video(self) -> tuple[np.ndarray, float]:
        import av

        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or 24)
            w, h = analysis_size(stream.codec_context.width, stream.codec_context.height)
            frames = [f.to_ndarray(width=w, height=h, format="rgb24") for f in container.decode(video=0)]
        return (np.stack(frames) if frames else np.zeros((0, h, w, 3), np.uint8)), fps

    @property
    def frames(self) -> np.ndarray:
        """uint8 [T, h, w, 3] at the analysis size."""
        return self._video[0]

    @property
    def fps(self) -> float:
        return self._video[1]

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.fps

    @functools.cached_property
    def audio(self) -> np.ndarray:
        """float32 [2, N] at 48 kHz, as the clip stores it."""
        return read_audio(self.path, SAMPLE_RATE)

    @functools.cached_property
    def speech_audio(self) -> np.ndarray:
        """float32 [N] at 16 kHz, mono: what the speech models hear."""
        from scipy.signal import resample_poly

        mono = self.audio.mean(axis=0)
        return resample_poly(mono, 1, SAMPLE_RATE // SPEECH_RATE).astype(np.float32)


def luma(frames: np.ndarray) -> np.ndarray:
    """BT.601 luma of uint8 [..., 3] frames, float32 0-255."""
    return frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
