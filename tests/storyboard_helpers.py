"""Helpers for the storyboard tests: a project folder with a cast and voices, and loading."""

from __future__ import annotations

import shutil
from pathlib import Path

from nava_director.errors import StoryboardError
from nava_director.storyboard.load import LoadedStoryboard, load_storyboard

ROOT = Path(__file__).resolve().parents[1]
VOICES = ROOT / "storyboards" / "voices"

CAST = """\
characters:
  lin:
    name: 林然
    voice: voices/lin.wav
  chen:
    name: 陈默
    voice: voices/chen.wav
"""


def make_project(folder: Path, cast: str = CAST) -> Path:
    """A folder with cast.yaml and voices/{lin,chen}.wav (the demo's voices)."""
    shutil.copytree(VOICES, folder / "voices", dirs_exist_ok=True)
    (folder / "cast.yaml").write_text(cast, encoding="utf-8")
    return folder


def diagnostics_of(text: str, name: str = "bad.yaml") -> list[str]:
    """Write ``text`` to ``name`` (in the current folder) and return every diagnostic line."""
    Path(name).write_text(text, encoding="utf-8")
    try:
        loaded = load_storyboard(name)
    except StoryboardError as e:
        return [str(d) for d in e.diagnostics]
    return [str(d) for d in loaded.warnings]


def load(text: str, name: str = "ok.yaml") -> LoadedStoryboard:
    Path(name).write_text(text, encoding="utf-8")
    return load_storyboard(name)
