"""Speaker embeddings from reference voices: ReDimNet from the official checkpoint, with a cache.

The official file (``M-vb2+vox2+cnc-ft_mix.pt``) is ``{'model_config': {...}, 'state_dict':
{...}}``; the network is built from that config (see :mod:`engine.redimnet`). A reference
voice is read with soundfile, mixed to mono, resampled to 16 kHz (polyphase) and cut to its
first 30 s. A voice that cannot be used raises :class:`~engine.errors.VoiceError`; it is
never replaced by zeros (which the DiT would read as "no speaker").

Embeddings are cached in ``cache_dir`` by the SHA-256 of the decoded 16 kHz samples and a
fingerprint of the model's weights, so casting files reuse them across storyboards.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from engine.audio_io import read_audio, resample
from engine.checkpoints import load_strict, read_torch_file
from engine.errors import VoiceError, WeightsError
from engine.redimnet import ReDimNet, ReDimNetConfig
from engine.voice import FIX as VOICE_FIX
from engine.voice import voice_problem

WHAT = "speaker model (ReDimNet M-vb2+vox2+cnc-ft_mix.pt)"
SAMPLE_RATE = 16000
MAX_SECONDS = 30.0

# A small ReDimNet (C=4) of the official M layout, for tiny test engines.
TINY_CONFIG: dict[str, Any] = {
    "F": 72,
    "C": 4,
    "block_1d_type": "att",
    "block_2d_type": "convnext_like",
    "stages_setup": [
        (1, 2, 1, [(3, 3)], 12),
        (2, 2, 1, [(3, 3)], 12),
        (1, 3, 1, [(3, 3)], 12),
        (2, 4, 1, [(3, 3)], 8),
        (1, 4, 1, [(3, 3)], 8),
        (2, 4, 1, [(3, 3)], 4),
    ],  # fmt: skip
    "group_divisor": 4,
    "out_channels": None,
    "embed_dim": 192,
    "hop_length": 160,
}


def load_voice(path: str | Path) -> torch.Tensor:
    """A reference voice file -> mono 16 kHz float32 ``[N]``, at most 30 s (the first 30 s)."""
    path = Path(path)
    hint = VOICE_FIX
    if not path.is_file():
        raise VoiceError(f"reference voice not found: {path}", hint=hint)
    try:
        wave, rate = read_audio(path)
    except Exception as exc:  # soundfile raises its own error types for unreadable data
        raise VoiceError(f"cannot read reference voice {path}: {exc}", hint=hint) from exc
    if problem := voice_problem(wave.numpy(), rate):
        raise VoiceError(f"reference voice {path} {problem}", hint=hint)
    return resample(wave.mean(dim=0), rate, SAMPLE_RATE)[: int(MAX_SECONDS * SAMPLE_RATE)]


class SpeakerEncoder:
    """Reference voices -> 192-d ReDimNet embeddings (float32)."""

    def __init__(self, model: ReDimNet):
        self.model = model.eval().requires_grad_(False)
        self._fingerprint: str | None = None

    @property
    def device(self) -> torch.device:
        return self.model.linear.weight.device

    @property
    def embed_dim(self) -> int:
        return self.model.config.embed_dim

    @classmethod
    def from_file(cls, path: str | Path, dtype=torch.float32, device="cpu") -> SpeakerEncoder:
        """The official ``{'model_config', 'state_dict'}`` checkpoint."""
        checkpoint = read_torch_file(path, WHAT)
        if not isinstance(checkpoint, Mapping) or not {"model_config", "state_dict"} <= set(checkpoint):
            raise WeightsError(f"{WHAT}: {path} is not a ReDimNet checkpoint (needs 'model_config' and 'state_dict')")
        model = cls._build(checkpoint["model_config"], path)
        load_strict(model, checkpoint["state_dict"], WHAT, path)
        return cls(_cast(model, dtype).to(device))

    @classmethod
    def from_config(cls, config: Mapping[str, Any] = TINY_CONFIG, dtype=torch.float32, device="cpu") -> SpeakerEncoder:
        """Random weights (tiny test engines); front-end buffers are the true constants."""
        return cls(_cast(cls._build(config, "config"), dtype).to(device))

    @staticmethod
    def _build(model_config: Mapping[str, Any], source: str | Path) -> ReDimNet:
        try:
            return ReDimNet(ReDimNetConfig.from_dict(model_config))
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise WeightsError(f"{WHAT}: cannot build the network from the model_config of {source}: {exc}") from exc

    def save(self, path: str | Path) -> None:
        """Write the official checkpoint format: ``{'model_config': dict, 'state_dict': ...}``."""
        config = {k: v for k, v in asdict(self.model.config).items()}
        torch.save({"model_config": config, "state_dict": self.model.state_dict()}, path)

    @torch.no_grad()
    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        """Mono 16 kHz ``[B, N]`` -> raw embeddings ``[B, 192]`` (float32, no L2 norm)."""
        return self.model(wave.to(self.device)).float()

    def embed_file(self, path: str | Path, cache_dir: str | Path | None = None) -> torch.Tensor:
        """One reference voice -> ``[192]``, read from / written to ``cache_dir`` when given."""
        wave = load_voice(path)
        cached = self._cache_path(wave, Path(cache_dir)) if cache_dir is not None else None
        if cached is not None and cached.is_file():
            try:
                return torch.load(cached, weights_only=True)
            except Exception:
                cached.unlink(missing_ok=True)  # a damaged cache entry is recomputed
        embedding = self.embed(wave.unsqueeze(0))[0].cpu()
        if cached is not None:
            _atomic_save(embedding, cached)
        return embedding

    def fingerprint(self) -> str:
        """A hash of the weights: cache entries of another model are never reused."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for name, tensor in sorted(self.model.state_dict().items()):
                digest.update(name.encode())
                digest.update(tensor.detach().float().cpu().numpy().tobytes())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def _cache_path(self, wave: torch.Tensor, cache_dir: Path) -> Path:
        """Keyed by the samples the model hears, not the file's bytes: a float WAV's header
        carries a timestamp (libsndfile's PEAK chunk), so the same voice written twice differs."""
        samples = hashlib.sha256(wave.detach().cpu().numpy().astype("<f4").tobytes()).hexdigest()
        return cache_dir / f"{samples[:32]}-{self.fingerprint()[:16]}.pt"


def _cast(model: ReDimNet, dtype: torch.dtype) -> ReDimNet:
    """Everything but the front end to ``dtype``; the front end always computes in float32."""
    for name, child in model.named_children():
        if name != "spec":
            child.to(dtype)
    return model


def _atomic_save(tensor: torch.Tensor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(tensor.clone(), tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
