"""The models the checks listen with, loaded once per run and only when a check needs them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Models:
    weights: Path | None = None  # NAVA weights: the voice check uses the engine's ReDimNet from them
    asr_model: Path | None = None  # --asr-model: a Whisper-family model folder; None: no words check

    @functools.cached_property
    def vad(self):
        from nava_director.checks.vad import SileroVAD

        return SileroVAD()

    @functools.cached_property
    def embedder(self):
        from nava_director.checks.embedder import ReDimNetEmbedder, ResemblyzerEmbedder, has_redimnet

        return ReDimNetEmbedder(self.weights) if has_redimnet(self.weights) else ResemblyzerEmbedder()

    @functools.cached_property
    def asr(self):
        from nava_director.checks.asr import WhisperASR

        return WhisperASR(self.asr_model) if self.asr_model is not None else None

    @functools.cached_property
    def _voices(self) -> dict[Path, np.ndarray]:
        return {}

    def voice_embedding(self, path: Path) -> np.ndarray:
        """A cast voice's embedding, computed once per run."""
        from nava_director.checks.embedder import read_voice

        if path not in self._voices:
            self._voices[path] = self.embedder.embed(read_voice(path))
        return self._voices[path]
