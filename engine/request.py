"""What the pipeline takes and gives: :class:`GenerateRequest` in, :class:`Clip` out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.guidance import GuidanceScales
from engine.lengths import FPS

# The reference's video negative prompt (nava_src/pipeline_nava.py AudioVideoPipeline.sample,
# the branch configs/nava.yaml selects with use_mmdit_model: true). It is the only negative
# the DiT sees: with no speaker embedding the UNCOND pass reads the video context alone.
NEGATIVE_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
    "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走, 音频带有机械音、闷糊、回音、失真、电流声、爆音、杂音"
)

# progress(done, total, what), e.g. (3, 50, "denoising")
Progress = Callable[[int, int, str], None]


@dataclass
class GenerateRequest:
    prompt: str  # the caption; speech spans marked <S>words<E>
    speaker_wavs: list[Path | None] = field(default_factory=list)  # one per <S> span, in order; None: no voice
    width: int = 1280
    height: int = 704
    frames: int = 121  # 4k + 1 at 24 fps
    seed: int = 0
    steps: int = 50
    guidance: GuidanceScales | None = None  # None: the reference's scales for the mode (GuidanceScales.for_mode)
    first_frame: np.ndarray | None = None  # uint8 [H, W, 3] at width x height
    negative_prompt: str = NEGATIVE_PROMPT
    reimpose_first_frame: bool = True  # put the clean first frame back on the final latent
    progress: Progress | None = None


@dataclass
class Clip:
    frames: np.ndarray  # uint8 [T, H, W, 3]
    audio: np.ndarray  # float32 [2, N], stereo
    sample_rate: int
    fps: int = FPS

    @property
    def seconds(self) -> float:
        return self.frames.shape[0] / self.fps
