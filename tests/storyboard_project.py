"""A small storyboard for render tests: five 1-second shots, two voices, two continuations.

a ──▶ b (lin speaks) ──▶ e        c (chen speaks) ──▶ d
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from nava_director.session import ProjectArgs, Session, open_project

ROOT = Path(__file__).resolve().parents[1]
SIZE = "96x64"

STORYBOARD = """\
title: 小院
format: {aspect: landscape, fps: 24}
defaults: {steps: 4, seed: 5}
cast: cast.yaml
scenes:
  - id: yard
    setting: 清晨的小院
    shots:
      - id: a
        duration: 1
        action: 林然站在院子里
        camera: {size: wide, move: pan-left}
        sound: 鸟叫声
      - id: b
        continue_from: a
        duration: 1
        action: 林然转身
        dialogue:
          - {who: lin, line: 你好。}
      - id: c
        duration: 1
        action: 陈默走进院子
        camera: 手持跟拍
        dialogue:
          - {who: chen, line: 我来了。}
      - id: d
        continue_from: c
        duration: 1
        action: 陈默坐下
      - id: e
        continue_from: b
        duration: 1
        action: 林然笑了
"""

CAST = """\
characters:
  lin: {name: 林然, voice: voices/lin.wav}
  chen: {name: 陈默, voice: voices/chen.wav}
"""


def write_voice(path: Path, hz: float) -> None:
    t = np.arange(int(1.5 * 16000)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 16000)


def make_storyboard(folder: Path) -> Path:
    (folder / "voices").mkdir(parents=True)
    write_voice(folder / "voices" / "lin.wav", 220)
    write_voice(folder / "voices" / "chen.wav", 130)
    (folder / "cast.yaml").write_text(CAST, encoding="utf-8")
    path = folder / "sb.yaml"
    path.write_text(STORYBOARD, encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def director(storyboard: Path, engine=None, **asked) -> Session:
    """The project opened as `render` opens it: the animatic at a tiny size, template captions,
    no take checks (as unrelated render tests run; ``asked`` adds or replaces flags); no
    environment or user config leaking in."""
    asked = {"engine": "animatic", "size": SIZE, "rewriter": "template", "checks": False, **asked}
    args = ProjectArgs(storyboard, **asked)
    return open_project(args, engine=engine, env={}, user_config=storyboard.parent / "no-user-config.toml")


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real command in a fresh process."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "XDG_CONFIG_HOME": "/nonexistent"}
    command = [sys.executable, "-c", "from nava_director.cli import main; main()", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=check)
