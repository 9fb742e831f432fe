"""What every check is given (a :class:`TakeContext`) and what it declares (a :class:`Check`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nava_director.checks.media import TakeMedia
from nava_director.checks.models import Models
from nava_director.checks.result import CheckResult
from nava_director.checks.script import ShotScript
from nava_director.checks.thresholds import Thresholds

ALL_ENGINES = frozenset({"animatic", "nava"})
GENERATED = frozenset({"nava"})  # engines whose picture and voice are generated, not drawn


def engine_family(engine_id: str) -> str:
    """``animatic-3`` -> ``animatic``, ``nava-1-0123abcd`` -> ``nava``."""
    return engine_id.split("-", 1)[0]


@dataclass
class TakeContext:
    """One take and everything its checks compare it with."""

    media: TakeMedia
    script: ShotScript
    engine: str  # the engine id that rendered the take
    upstream_last_frame: Path | None = None  # a continued shot's upstream take's last frame (PNG)
    thresholds: Thresholds = field(default_factory=Thresholds)
    models: Models = field(default_factory=Models)

    @functools.cached_property
    def speech_probabilities(self) -> np.ndarray:
        """Silero VAD's speech probability per 32 ms chunk of the take, computed once."""
        return self.models.vad.probabilities(self.media.speech_audio)

    def upstream_frame(self) -> np.ndarray | None:
        if self.upstream_last_frame is None:
            return None
        from PIL import Image

        with Image.open(self.upstream_last_frame) as image:
            return np.asarray(image.convert("RGB"))


@dataclass(frozen=True)
class Check:
    name: str
    what: str  # one line: what it measures, and its threshold
    engines: frozenset[str]  # the engine families it applies to; on others it does not run
    measure: Callable[[TakeContext], CheckResult]
    why_not: str = ""  # said when the take's engine is not one of ``engines``
