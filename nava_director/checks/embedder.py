"""Speaker embeddings for the voice check: the engine's ReDimNet, else Resemblyzer.

With NAVA weights at hand the check hears voices as the engine does (its own ReDimNet,
through the engine's pipeline API); without them it uses Resemblyzer, whose pretrained
encoder ships in its wheel. Both take mono 16 kHz audio and give a unit vector; the cosine
of two is their similarity, each on its own scale (see ``Thresholds``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATE = 16_000


class ResemblyzerEmbedder:
    name = "resemblyzer"

    def __init__(self):
        from resemblyzer import VoiceEncoder

        self.encoder = VoiceEncoder(device="cpu", verbose=False)

    def embed(self, audio: np.ndarray) -> np.ndarray:
        from resemblyzer import preprocess_wav

        wav = preprocess_wav(np.asarray(audio, np.float32), source_sr=RATE)
        if len(wav) < RATE // 4:  # its voice-activity trim left (almost) nothing: use what there is
            wav = np.asarray(audio, np.float32)
        vector = self.encoder.embed_utterance(wav)
        return vector / (np.linalg.norm(vector) + 1e-9)


class ReDimNetEmbedder:
    name = "redimnet"

    def __init__(self, weights: Path):
        from engine.pipeline import speaker_embedder

        self.encoder = speaker_embedder(weights)

    def embed(self, audio: np.ndarray) -> np.ndarray:
        import torch

        vector = self.encoder.embed(torch.from_numpy(np.asarray(audio, np.float32))[None])[0].numpy()
        return vector / (np.linalg.norm(vector) + 1e-9)


def has_redimnet(weights: Path | None) -> bool:
    """Whether ``weights`` is a NAVA weights folder holding the engine's speaker model."""
    if weights is None or not Path(weights).is_dir():
        return False
    from engine.pipeline import speaker_model_file

    return speaker_model_file(weights) is not None


def read_voice(path: Path) -> np.ndarray:
    """A cast voice file as mono 16 kHz float32."""
    import soundfile as sf
    from scipy.signal import resample_poly

    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != RATE:
        g = np.gcd(rate, RATE)
        mono = resample_poly(mono, RATE // g, rate // g).astype(np.float32)
    return mono
