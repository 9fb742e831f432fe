"""A corpus of bad inputs, each as a user would give it: storyboards, casting files, voices,
images, settings, flags, environment, damaged project folders. Every one ends in exit 2 with
its first line naming the file (or flag) and the place, and no traceback; a damaged project
heals instead (exit 0, what was set aside reported). Run in-process through the real CLI."""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf
from storyboard_project import SIZE, STORYBOARD, director, make_storyboard
from typer.testing import CliRunner

from nava_director.cli import app
from nava_director.render.run import render

SHOT = "      - id: c\n"  # where a case edits the storyboard (tests/storyboard_project.py)


def sb_edit(old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        text = (folder / "sb.yaml").read_text(encoding="utf-8")
        assert old in text, old
        (folder / "sb.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return edit


def sb_text(text: str | bytes) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / "sb.yaml").write_bytes(data)
    return write


def shot_field(line: str) -> Callable[[Path], None]:
    return sb_edit(SHOT, SHOT + f"        {line}\n")


def voice(samples, rate: int = 16000, subtype: str = "FLOAT") -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        sf.write(folder / "voices" / "lin.wav", samples, rate, subtype=subtype)
    return write


def file_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return write


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(folder: Path) -> None:
        for step in steps:
            step(folder)
    return run


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))


def speech(seconds: float = 1.5, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def with_nan() -> np.ndarray:
    wave = speech()
    wave[500] = np.nan
    return wave


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(6))

SB, CAST = r"sb\.yaml:\d+:\d+: ", r"cast\.yaml:\d+:\d+: "
TOML = r"error: nava\.toml:\d+(:\d+)?: "

# name -> (how the input is made, the command after its name, what the first line starts with)
CASES: dict[str, tuple[Callable[[Path], None], list[str], str]] = {
    # storyboards: YAML
    "unclosed bracket": (sb_text("title: [a\nscenes: []\n"), ["validate"], SB),
    "tab indentation": (sb_text("scenes:\n\t- id: s\n"), ["validate"], SB),
    "duplicate key": (sb_edit("title: 小院", "title: 小院\ntitle: 又一个"), ["validate"], SB),
    "alias bomb": (sb_text(BOMB + "scenes: []\n"), ["validate"], SB),
    "deep nesting": (sb_text("scenes: " + "[" * 3000 + "]" * 3000 + "\n"), ["validate"], SB),
    "NUL byte": (sb_edit("林然站在院子里", "林然站在\x00院子里"), ["validate"], SB),
    "escape character": (sb_edit("清晨的小院", "清晨的\x1b[31m小院"), ["validate"], SB),
    "!include tag": (sb_edit("cast: cast.yaml", "cast: !include cast.yaml"), ["validate"], SB),
    "python tag": (sb_edit("title: 小院", "title: !!python/object/apply:os.system [ls]"), ["validate"], SB),
    "a list, not a mapping": (sb_text("- a\n- b\n"), ["validate"], SB),
    "an empty file": (sb_text(""), ["validate"], SB),
    "two documents": (sb_text(STORYBOARD + "---\ntitle: b\n"), ["validate"], SB),
    "binary": (sb_text(png_claiming(4, 4)), ["validate"], r"error: sb\.yaml:1:1: not UTF-8"),
    "latin-1 text": (sb_text("title: caf\xe9\nscenes: []\n".encode("latin-1")), ["validate"],
                     r"error: sb\.yaml:1:11: not UTF-8"),
    "a FIFO": (lambda f: ((f / "sb.yaml").unlink(), os.mkfifo(f / "sb.yaml")), ["validate"],
               r"error: sb\.yaml: is not a regular file"),
    "11 MB": (sb_text("# " + "x" * 11_000_000 + "\n"), ["validate"], r"error: sb\.yaml: 11 MB is too large"),
    "cast a FIFO": (lambda f: ((f / "cast.yaml").unlink(), os.mkfifo(f / "cast.yaml")), ["validate"], SB),
    # storyboards: values
    "duration 0": (sb_edit("duration: 1\n        action: 陈默走进院子", "duration: 0\n        action: 陈默走进院子"),
                   ["validate"], SB),
    "duration 12": (sb_edit("duration: 1\n        action: 陈默走进院子", "duration: 12\n        action: 陈默走进院子"),
                    ["validate"], SB),
    "duration text": (sb_edit("duration: 1\n        action: 陈默走进院子", "duration: abc\n        action: 陈默走进院子"),
                      ["validate"], SB),
    "duration .nan": (sb_edit("duration: 1\n        action: 陈默走进院子", "duration: .nan\n        action: 陈默走进院子"),
                      ["validate"], SB),
    "duration .inf": (sb_edit("duration: 1\n        action: 陈默走进院子", "duration: .inf\n        action: 陈默走进院子"),
                      ["validate"], SB),
    "duration 1e308": (sb_edit("duration: 1\n        action: 陈默走进院子", "duration: 1e308\n        action: 陈默走进院子"),
                       ["validate"], SB),
    "misspelt key": (shot_field("durration: 2"), ["validate"], SB),
    "no scenes": (sb_text("title: x\n"), ["validate"], SB),
    "no shots": (sb_text("scenes:\n  - id: s\n    shots: []\n"), ["validate"], SB),
    "duplicate shot id": (sb_edit("- id: d\n", "- id: c\n"), ["validate"], SB),
    "shot id with a slash": (sb_edit("- id: d\n", "- id: ../d\n"), ["validate"], SB),
    "shot id of 300 characters": (sb_edit("- id: d\n", f"- id: {'d' * 300}\n"), ["validate"], SB),
    "continue_from nothing": (sb_edit("continue_from: c", "continue_from: zz"), ["validate"], SB),
    "continue_from itself": (sb_edit("continue_from: c", "continue_from: d"), ["validate"], SB),
    "who not cast": (sb_edit("{who: chen, line: 我来了。}", "{who: wang, line: 我来了。}"), ["validate"], SB),
    "three speakers": (sb_edit("{who: chen, line: 我来了。}", "{who: chen, line: 我来了。}\n          - {who: lin, "
                               "line: 嗯。}\n          - {who: wang, line: 好。}"), ["validate"], SB),
    "empty line": (sb_edit("line: 我来了。", "line: ''"), ["validate"], SB),
    "unclosed span": (sb_edit("陈默坐下", "陈默坐下~~说"), ["validate"], SB),
    "image missing": (shot_field("image: nope.png"), ["validate"], SB),
    "image not an image": (both(file_bytes("still.png", b"GIF89a nope"), shot_field("image: still.png")),
                           ["validate"], SB),
    "image 20000x20000": (both(file_bytes("still.png", png_claiming(20000, 20000)), shot_field("image: still.png")),
                          ["validate"], SB),
    "image is a folder": (both(file_bytes("still.png/x", b""), shot_field("image: still.png")), ["validate"], SB),
    "dissolve longer than its shot": (both(shot_field("transition: dissolve"), shot_field("transition_s: 3")),
                                      ["validate"], SB),
    "audio_lead_s .inf": (shot_field("audio_lead_s: .inf"), ["validate"], SB),
    "transition_s 1e300": (shot_field("transition_s: 1e300"), ["validate"], SB),
    "cast /dev/zero": (sb_edit("cast: cast.yaml", "cast: /dev/zero"), ["validate"], SB),
    "J and L cut on one shot": (both(shot_field("audio_lead_s: 0.3"), shot_field("audio_lag_s: 0.3")),
                                ["validate"], SB),
    "aspect cinema": (sb_edit("aspect: landscape", "aspect: cinema"), ["validate"], SB),
    "fps 60": (sb_edit("fps: 24", "fps: 60"), ["validate"], SB),
    "seed -1": (sb_edit("seed: 5", "seed: -1"), ["validate"], SB),
    "seed 2**63": (sb_edit("seed: 5", f"seed: {2**63}"), ["validate"], SB),
    "steps 0": (sb_edit("steps: 4", "steps: 0"), ["validate"], SB),
    "steps 10**6": (sb_edit("steps: 4", "steps: 1000000"), ["validate"], SB),
    "language fr": (sb_edit("seed: 5}", "seed: 5, language: fr}"), ["validate"], SB),
    "camera size huge": (sb_edit("{size: wide, move: pan-left}", "{size: huge, move: pan-left}"), ["validate"], SB),
    "cast file missing": (sb_edit("cast: cast.yaml", "cast: nope.yaml"), ["validate"], SB),
    "cast and characters": (sb_edit("cast: cast.yaml", "cast: cast.yaml\ncharacters: {}"), ["validate"], SB),
    "title a mapping": (sb_edit("title: 小院", "title: {a: 1}"), ["validate"], SB),
    "who a number": (sb_edit("{who: lin, line: 你好。}", "{who: 5, line: 你好。}"), ["validate"], SB),
    # casting files and voices
    "cast a list": (file_bytes("cast.yaml", b"- lin\n"), ["validate"], CAST),
    "cast misspelt key": (file_bytes("cast.yaml", "characters:\n  lin: {name: 林然, voise: voices/lin.wav}\n"
                                     "  chen: {name: 陈默, voice: voices/chen.wav}\n".encode()), ["validate"], CAST),
    "voice missing": (lambda f: (f / "voices" / "lin.wav").unlink(), ["validate"], CAST),
    "voice silent": (voice(np.zeros(24000, np.float32)), ["validate"], CAST),
    "voice DC": (voice(np.full(24000, 0.5, np.float32)), ["validate"], CAST),
    "voice NaN": (voice(with_nan()), ["validate"], CAST),
    "voice 100 Hz": (voice(speech(2, 100), 100), ["validate"], CAST),
    "voice 1 Hz": (voice(np.linspace(-0.4, 0.4, 5, dtype=np.float32), 1), ["validate"], CAST),
    "voice 0.2 s": (voice(speech(0.2)), ["validate"], CAST),
    "voice 40 s": (voice(speech(40)), ["validate"], CAST),
    "voice is text": (file_bytes("voices/lin.wav", b"RIFF but not really"), ["validate"], CAST),
    "voice 3 channels": (voice(np.stack([speech()] * 3, axis=1)), ["validate"], CAST),
    "voice a folder": (lambda f: ((f / "voices" / "lin.wav").unlink(), (f / "voices" / "lin.wav").mkdir()),
                       ["validate"], CAST),
    # settings
    "nava.toml size [160]": (file_bytes("nava.toml", b"size = [160]\n"), ["plan"], TOML),
    "nava.toml weights 5": (file_bytes("nava.toml", b"weights = 5\n"), ["plan"], TOML),
    "nava.toml out 5": (file_bytes("nava.toml", b"out = 5\n"), ["plan"], TOML),
    "nava.toml binary": (file_bytes("nava.toml", png_claiming(2, 2)), ["plan"], r"error: nava\.toml:\d+: "),
    "nava.toml guidance s_x": (file_bytes("nava.toml", b"guidance = {s_x = 3}\n"), ["plan"], TOML),
    "nava.toml negative_prompt 5": (file_bytes("nava.toml", b"negative_prompt = 5\n"), ["plan"], TOML),
    "nava.toml syntax": (file_bytes("nava.toml", b"crf = \n"), ["plan"], TOML),
    "nava.toml unknown": (file_bytes("nava.toml", b"\nloudnes = -16\n"), ["plan"], TOML),
    "nava.toml weights missing": (file_bytes("nava.toml", b'weights = "nope"\n'), ["plan"], TOML),
    # flags
    "--steps 0": (lambda f: None, ["render", "--steps", "0"], "error: --steps 0"),
    "--steps -1": (lambda f: None, ["render", "--steps", "-1"], "error: --steps -1"),
    "--seed -5": (lambda f: None, ["render", "--seed", "-5"], "error: --seed -5"),
    "--seed 2**63": (lambda f: None, ["render", "--seed", str(2**63)], "error: --seed"),
    "--size 100000x100000": (lambda f: None, ["render", "--size", "100000x100000"], "error: --size: "),
    "--size 161x90": (lambda f: None, ["render", "--size", "161x90"], "error: --size: "),
    "--weights /nope": (lambda f: None, ["plan", "--weights", "/nope"], "error: --weights: "),
    "--out a file": (lambda f: None, ["render", "--out", "sb.yaml"], "error: --out: "),
    "--out a foreign folder": (file_bytes("mine/notes.txt", b"mine"), ["render", "--out", "mine"], r"error: mine "),
    "--loudness nan": (lambda f: None, ["render", "--loudness", "nan"], "error: --loudness: "),
    "--loudness 100": (lambda f: None, ["render", "--loudness", "100"], "error: --loudness: "),
    "--crf 99": (lambda f: None, ["render", "--crf", "99"], "error: --crf: "),
    "--engine gpu": (lambda f: None, ["render", "--engine", "gpu"], "error: --engine: "),
    "--shot nope": (lambda f: None, ["render", "--shot", "nope"], r"error: no shot 'nope' in sb\.yaml"),
    "--takes 0": (lambda f: None, ["render", "--takes", "0"], "error: --takes 0"),
    "--vllm-url nope": (lambda f: None, ["plan", "--vllm-url", "nope"], "error: --vllm-url: "),
}
ENV_CASES = {
    "NAVA_WEIGHTS missing": ({"NAVA_WEIGHTS": "/nope"}, "error: env NAVA_WEIGHTS: "),
    "NAVA_VLLM_URL not a URL": ({"NAVA_VLLM_URL": "nope"}, "error: env NAVA_VLLM_URL: "),
    "NAVA_VLLM_PYTHON missing": ({"NAVA_VLLM_PYTHON": "/nope/python"}, "error: env NAVA_VLLM_PYTHON: "),
}


def invoke(folder: Path, command: list[str], env: dict[str, str] | None = None):
    name, *flags = command
    args = [name, str(folder / "sb.yaml"), *flags]
    if name == "render" and "--size" not in flags:
        args += ["--size", SIZE]
    return CliRunner().invoke(app, args, env=env)


def refused_in_one_line(result, starts: str, folder: Path) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    first = lines[0].replace(f"{folder}/", "")
    assert re.match(starts, first), lines
    body = [line for line in lines if not line.startswith("hint: ") and not re.fullmatch(r"\d+ error\(s\).*", line)]
    assert 1 <= len(body) <= 2, lines  # one line (a cycle names both of its shots)


@pytest.fixture()
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    for name in ("NAVA_WEIGHTS", "NAVA_VLLM_URL", "NAVA_VLLM_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return make_storyboard(tmp_path).parent


@pytest.mark.parametrize("name", list(CASES))
def test_each_bad_input_is_one_line_and_exit_2(folder, name):
    make, command, starts = CASES[name]
    make(folder)
    refused_in_one_line(invoke(folder, command), starts, folder)
    assert not (folder / "sb.nava" / "shots").exists()  # nothing rendered


@pytest.mark.parametrize("name", list(ENV_CASES))
def test_each_bad_environment_value_is_one_line_and_exit_2(folder, name):
    env, starts = ENV_CASES[name]
    refused_in_one_line(invoke(folder, ["plan"], env), starts, folder)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rendered")
    render(director(make_storyboard(folder)))
    return folder


DAMAGED = {
    "manifest.json garbage": lambda p: (p / "manifest.json").write_text("{\"shots\": 5"),
    "manifest.json poisoned size": lambda p: (p / "manifest.json").write_text('{"size": [160]}'),
    "meta.json garbage": lambda p: (p / "shots/a/take-001/meta.json").write_text("nope"),
    "clip.mp4 deleted": lambda p: (p / "shots/b/take-001/clip.mp4").unlink(),
    "clip.mp4 truncated": lambda p: (p / "shots/c/take-001/clip.mp4").write_bytes(b"\0\0\0\x18ftyp"),
    "last_frame.png deleted": lambda p: (p / "shots/d/take-001/last_frame.png").unlink(),
    "report.json garbage": lambda p: (p / "report.json").write_bytes(b"\xff\xfe"),
    "captions cache garbage": lambda p: [f.write_text("{") for f in (p / "captions").glob("*.json")],
    "film.mp4 cut short": lambda p: (p / "film.mp4").write_bytes((p / "film.mp4").read_bytes()[:1000]),
    "last_frame.png garbage": lambda p: (p / "shots/a/take-001/last_frame.png").write_bytes(b"PNG?"),
    "take folder of another name": lambda p: (p / "shots/a/take-abc").mkdir(),
}


def _swap(path: Path, make_dir: bool) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    path.mkdir() if make_dir else path.write_text("mine")


LAYOUT = {  # a file or folder where the project keeps the other: said, never removed
    ".lock a folder": lambda p: _swap(p / ".lock", True),
    "shots a file": lambda p: _swap(p / "shots", False),
    "shots/a a file": lambda p: _swap(p / "shots" / "a", False),
    "report.json a folder": lambda p: _swap(p / "report.json", True),
    "manifest.json a folder": lambda p: _swap(p / "manifest.json", True),
}


@pytest.mark.parametrize("name", list(LAYOUT))
def test_a_project_with_a_file_in_a_folders_place_is_one_line(rendered, tmp_path, monkeypatch, name):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    shutil.copytree(rendered, tmp_path, dirs_exist_ok=True)
    LAYOUT[name](tmp_path / "sb.nava")
    result = invoke(tmp_path, ["render", "--engine", "animatic", "--rewriter", "template"])
    refused_in_one_line(result, r"error: (cannot open the project's lock )?sb\.nava/", tmp_path)


@pytest.mark.parametrize("name", list(DAMAGED))
def test_a_damaged_project_heals(rendered, tmp_path, monkeypatch, name):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    shutil.copytree(rendered, tmp_path, dirs_exist_ok=True)
    DAMAGED[name](tmp_path / "sb.nava")
    result = invoke(tmp_path, ["render", "--engine", "animatic", "--rewriter", "template"])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    again = invoke(tmp_path, ["render", "--engine", "animatic", "--rewriter", "template", "--json"])
    assert again.exit_code == 0 and '"rendered": []' in again.stdout


def test_the_corpus_is_large():
    assert len(CASES) + len(ENV_CASES) + len(DAMAGED) + len(LAYOUT) >= 60
