"""The caption cache (docs/architecture.md, "Cache keys"): ``captions/<hash>.json`` in the project folder.

A caption is stored under the hash of (writer, model, prompt version, shot inputs), so a
run with nothing changed finds every caption here and asks no LLM.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nava_director.captions.result import CaptionResult
from nava_director.project.files import write_json


def caption_key(writer: str, model: str | None, prompt_version: str, shot: dict[str, Any]) -> str:
    """The hash naming one caption: who wrote it, with what model and prompt, from what shot."""
    inputs = {"writer": writer, "model": model, "prompt": prompt_version, "shot": shot}
    canonical = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class CaptionCache:
    """Captions by key in ``folder``; with no folder, nothing is kept."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{key}.json"

    def get(self, key: str) -> CaptionResult | None:
        if self.folder is None or not self._path(key).is_file():
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            return CaptionResult(**{**data, "problems": tuple(data.get("problems", ()))})
        except (json.JSONDecodeError, TypeError):
            return None  # a damaged entry is written again

    def put(self, result: CaptionResult) -> None:
        if self.folder is not None:
            write_json(self._path(result.key), asdict(result))
