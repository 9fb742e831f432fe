"""Flow-matching UniPC sampling with NAVA's guidance and first-frame conditioning.

The reference drives two Wan ``FlowUniPCMultistepScheduler`` instances (video, audio) with
one timestep list. diffusers' ``UniPCMultistepScheduler`` reproduces them bit for bit when
it is given the reference's sigma grid explicitly (see :func:`flow_unipc`); its own grid
differs by up to four timesteps.

Each step runs the model passes (see :mod:`engine.passes`) and combines them with
:mod:`engine.guidance`. With a first frame, the clean frame is written
into latent frame 0 before every model call, so the sample handed to ``step()`` carries it
too; the solver then moves it like every other frame and the loop does not restore it at
the end (exactly as the reference). :func:`reimpose_first_frame` is the separate step a
pipeline takes after the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from engine.guidance import GuidanceScales, Passes, guide_audio, guide_video

# The reference constructs its scheduler with shift 5 and then shifts the grid's start
# again: its first sigma before the (second) shift is s5(0.999) computed in float32.
SIGMA_MAX = 0.9997997879981995

UNIPC_CONFIG = {
    "num_train_timesteps": 1000,
    "solver_order": 2,
    "prediction_type": "flow_prediction",
    "predict_x0": True,
    "solver_type": "bh2",
    "lower_order_final": True,
    "use_flow_sigmas": True,
    "flow_shift": 5.0,
    "final_sigmas_type": "zero",
}

StepProgress = Callable[[int, int], None]  # (steps done, steps in all)


def flow_unipc(steps: int):
    """A UniPC scheduler set to the reference's ``steps``-step grid (int64 timesteps)."""
    from diffusers import UniPCMultistepScheduler

    scheduler = UniPCMultistepScheduler(**UNIPC_CONFIG)
    # a float64 numpy array: diffusers shifts it (flow_shift * sigmas) and truncates sigma*1000
    scheduler.set_timesteps(sigmas=np.linspace(SIGMA_MAX, 0.0, steps + 1)[:-1])
    return scheduler


@dataclass
class Latents:
    """One clip's latents: video ``[C, F, H, W]``, audio ``[L, C]`` (tokens first)."""

    video: Tensor
    audio: Tensor


def initial_noise(video_shape: tuple[int, int, int, int], audio_shape: tuple[int, int], seed: int) -> Latents:
    """Seeded fp32 noise drawn as the reference draws it: token-major video, then audio.

    The video noise is drawn as ``[F*H*W, C]`` and laid out as ``[C, F, H, W]``, so a CPU
    generator with the reference's seed gives the reference's numbers.
    """
    channels, frames, height, width = video_shape
    generator = torch.Generator("cpu").manual_seed(seed)
    tokens = torch.randn((frames * height * width, channels), generator=generator, dtype=torch.float32)
    audio = torch.randn(audio_shape, generator=generator, dtype=torch.float32)
    video = tokens.T.reshape(channels, frames, height, width).contiguous()
    return Latents(video, audio)


def reimpose_first_frame(video: Tensor, first_frame: Tensor) -> Tensor:
    """``video`` ``[C, F, H, W]`` with latent frame 0 replaced by the clean ``first_frame`` ``[C, 1, H, W]``."""
    return torch.cat([first_frame.to(video.dtype), video[:, 1:]], dim=1)


class Denoiser(Protocol):
    """The model passes of one step: ``(video, audio, timestep) -> (video passes, audio passes)``.

    ``timestep`` is the scheduler's int64 timestep as a ``[1]`` tensor; the denoiser knows
    whether latent frame 0 is a clean first frame (its tokens then get t = 0).
    """

    def __call__(self, video: Tensor, audio: Tensor, timestep: Tensor) -> tuple[Passes, Passes]: ...


def sample(
    denoiser: Denoiser,
    noise: Latents,
    steps: int,
    scales: GuidanceScales | None = None,
    first_frame: Tensor | None = None,
    progress: StepProgress | None = None,
) -> Latents:
    """The denoising loop. Returns the final latents, first frame NOT re-imposed (see module doc)."""
    scales = scales or GuidanceScales()
    video_scheduler, audio_scheduler = flow_unipc(steps), flow_unipc(steps)
    video, audio = noise.video.float(), noise.audio.float()
    for index, timestep in enumerate(video_scheduler.timesteps):
        if first_frame is not None:
            video = reimpose_first_frame(video, first_frame)
        video_passes, audio_passes = denoiser(video, audio, timestep.reshape(1))
        video_velocity = guide_video(video_passes, scales).float()
        audio_velocity = guide_audio(audio_passes, scales).float()
        video = video_scheduler.step(video_velocity, timestep, video, return_dict=False)[0]
        audio = audio_scheduler.step(audio_velocity, timestep, audio, return_dict=False)[0]
        if progress is not None:
            progress(index + 1, steps)
    return Latents(video, audio)
