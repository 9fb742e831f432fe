"""The NAVA engine: the director's :class:`ShotRequest` through ``engine.pipeline``.

Building it is cheap (no torch, no weights read): ``id`` needs only a fingerprint of the
weight files' names, sizes and first bytes. The pipeline loads on the first render and
stays loaded for the rest of the run. Voice embeddings are cached per user (by the voice
file's hash), so casting files reuse them across storyboards.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from nava_director.clip import Clip
from nava_director.engines.base import ShotRequest
from nava_director.errors import InputError, NavaError
from nava_director.progress import Progress

ENGINE_VERSION = "nava-2"  # bump when the same weights would render differently (2: I2AV guidance, no-voice shots)


class NavaEngine:
    def __init__(self, weights: Path | None = None):
        if weights is None:
            raise InputError(
                "the nava engine needs the NAVA weights folder",
                hint="pass --weights DIR or set NAVA_WEIGHTS (make a tiny one: python -m engine.make_tiny_weights DIR)",
            )
        self.weights = Path(weights)
        self._pipeline = None
        self._group = None  # a process group: each shot's DiT forward split over its ranks

    @cached_property
    def id(self) -> str:
        from engine.pipeline import weights_id

        with _engine_errors():
            return f"{ENGINE_VERSION}-{weights_id(self.weights)}"

    def render(self, request: ShotRequest, progress: Progress | None = None) -> Clip:
        from engine.pipeline import NEGATIVE_PROMPT, GenerateRequest, GuidanceScales

        with _engine_errors():
            guidance = GuidanceScales.from_mapping(request.guidance, image_conditioned=request.first_frame is not None)
        generate = GenerateRequest(
            prompt=request.caption,
            speaker_wavs=[line.voice for line in request.speech],
            width=request.width,
            height=request.height,
            frames=request.frames,
            seed=request.seed,
            steps=request.steps,
            guidance=guidance,
            first_frame=request.first_frame,
            progress=progress.step if progress else None,
            negative_prompt=request.negative_prompt or NEGATIVE_PROMPT,
        )
        with _engine_errors():
            clip = self.pipeline.generate(generate)
        return Clip(frames=clip.frames, audio=clip.audio, sample_rate=clip.sample_rate, fps=clip.fps)

    @property
    def pipeline(self):
        if self._pipeline is None:
            from engine.pipeline import NAVAPipeline

            with _engine_errors():
                self._pipeline = NAVAPipeline.from_pretrained(self.weights, offload=True, speaker_cache=speaker_cache())
                if self._group is not None:
                    self._pipeline.split_over(self._group)
        return self._pipeline

    def split_over(self, group) -> None:
        """Split each shot's DiT forward over the ranks of ``group`` (``render --gpus N --sp K``).

        The pipeline loads here, so that a group size the model cannot split over (its heads)
        stops the run once, up front, not every shot."""
        self._group = group
        if self._pipeline is not None:
            with _engine_errors():
                self._pipeline.split_over(group)
        else:
            self.pipeline  # noqa: B018 (loads, then splits over the group)


def speaker_cache() -> Path:
    """``$XDG_CACHE_HOME/nava-director/speakers`` (``~/.cache`` without it)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nava-director" / "speakers"


@contextmanager
def _engine_errors():
    """The engine's errors as the director's (same message and hint)."""
    from engine.pipeline import EngineError

    try:
        yield
    except EngineError as error:
        raise NavaError(error.message, hint=error.hint) from error
