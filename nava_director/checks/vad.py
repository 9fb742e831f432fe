"""Silero VAD: speech probability per 32 ms of 16 kHz audio, its ONNX model run by onnxruntime.

The model file ships in the ``silero-vad`` wheel; it is found without importing the
package (importing ``silero_vad`` sets torch to one thread for the whole process). Each
512-sample chunk is fed with the 64 samples before it and the recurrent state, as the
package's own ONNX wrapper does.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from nava_director.errors import NavaError

RATE = 16_000
CHUNK = 512  # samples: 32 ms
CONTEXT = 64


def model_file() -> Path:
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise NavaError("silero-vad is not installed: the speech check needs its model",
                        hint="pip install 'silero-vad>=6.2.3' (scripts/setup.sh does it)")  # fmt: skip
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"


class SileroVAD:
    def __init__(self, path: Path | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = options.intra_op_num_threads = 1  # a small model: one core is plenty
        self.session = onnxruntime.InferenceSession(
            str(path or model_file()), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Speech probability of each 32 ms chunk of mono 16 kHz ``audio`` (the last one zero-padded)."""
        audio = np.asarray(audio, np.float32)
        chunks = -(-len(audio) // CHUNK)
        padded = np.zeros(CONTEXT + chunks * CHUNK, np.float32)
        padded[CONTEXT : CONTEXT + len(audio)] = audio
        state = np.zeros((2, 1, 128), np.float32)
        rate = np.array(RATE, np.int64)
        out = np.empty(chunks, np.float32)
        for i in range(chunks):
            piece = padded[i * CHUNK : i * CHUNK + CONTEXT + CHUNK][None]
            prob, state = self.session.run(None, {"input": piece, "state": state, "sr": rate})
            out[i] = prob[0, 0]
        return out


def speech_seconds(probabilities: np.ndarray, threshold: float, start: float, end: float) -> float:
    """Seconds of chunks at or above ``threshold`` whose middle lies in [start, end)."""
    middles = (np.arange(len(probabilities)) + 0.5) * CHUNK / RATE
    inside = (middles >= start) & (middles < end)
    return float(np.count_nonzero(probabilities[inside] >= threshold) * CHUNK / RATE)


def speech_mask(probabilities: np.ndarray, threshold: float, samples: int) -> np.ndarray:
    """A per-sample boolean mask of ``samples`` length: True inside chunks heard as speech."""
    mask = np.repeat(probabilities >= threshold, CHUNK)[:samples]
    return np.pad(mask, (0, samples - len(mask)))
