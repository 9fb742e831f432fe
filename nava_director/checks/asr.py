"""Speech recognition for the words check: a Whisper-family model the user names, through transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nava_director.errors import InputError

RATE = 16_000
MAX_NEW_TOKENS = 96  # a line's words, with room


def check_model_folder(path: Path | None) -> None:
    """The --asr-model the user named is a model folder (said before anything renders)."""
    if path is not None and not (Path(path).expanduser() / "config.json").is_file():
        raise InputError(f"--asr-model {path}: not a transformers model folder (no config.json)",
                         hint="name a local Whisper-family model folder, e.g. one saved by save_pretrained")  # fmt: skip


class WhisperASR:
    def __init__(self, path: Path):
        from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor

        path = Path(path).expanduser()
        if not path.is_dir():
            raise InputError(f"--asr-model {path}: no such folder", hint="name a local Whisper model folder")
        try:
            self.processor = AutoProcessor.from_pretrained(str(path))
            self.model = AutoModelForSpeechSeq2Seq.from_pretrained(str(path)).eval()
        except (OSError, ValueError) as error:
            raise InputError(f"--asr-model {path}: not a speech-recognition model ({error})",
                             hint="name a Whisper-family model folder (transformers format)") from None  # fmt: skip
        self.name = path.name

    def transcribe(self, audio: np.ndarray, language: str) -> str:
        """The words heard in mono 16 kHz ``audio``; ``language``: "zh", "en", …"""
        import torch

        features = self.processor(np.asarray(audio, np.float32), sampling_rate=RATE, return_tensors="pt")
        room = self.model.config.max_target_positions - 8  # the start tokens take a few
        options: dict = {"max_new_tokens": min(MAX_NEW_TOKENS, room)}
        if getattr(self.model.generation_config, "lang_to_id", None):
            options.update(language=language, task="transcribe")
        with torch.no_grad():
            tokens = self.model.generate(features.input_features, **options)
        return self.processor.batch_decode(tokens, skip_special_tokens=True)[0].strip()
