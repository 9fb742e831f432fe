"""The project folder: --out never deletes what it did not write; damaged takes and manifests
heal (set aside, kept, reported, rendered again); a full disk during the cut still leaves
report.json; a folder that cannot be written is one line."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from storyboard_project import ROOT, SIZE, director, make_storyboard
from typer.testing import CliRunner

from nava_director.cli import app
from nava_director.clip import Clip
from nava_director.cut import write_clip
from nava_director.errors import InputError
from nava_director.project.folder import MARKER, Project
from nava_director.render.run import render


def nava(*args: str) -> CliRunner:
    result = CliRunner().invoke(app, [*args, "--engine", "animatic", "--rewriter", "template", "--size", SIZE])
    return result


def foreign_files(folder: Path) -> dict[Path, bytes]:
    """What a user keeps in a folder, named the way nava-director's leftovers are."""
    files = {
        folder / "notes.txt": b"mine",
        folder / "draft.partial": b"an unfinished download",
        folder / "deep" / "x" / "y.partial": b"deep",
        folder / "shots" / "a" / "take-001" / "clip.mp4": b"someone else's take folder",
        folder / ".film.mp4.99.partial": b"looks like ours",
    }
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


@pytest.mark.parametrize("where", ["folder", "dot", "home"])
def test_render_into_a_foreign_folder_is_refused_and_touches_nothing(tmp_path, monkeypatch, where):
    sb = make_storyboard(tmp_path / "films")
    target = tmp_path / "mine"
    files = foreign_files(target)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    if where == "dot":
        monkeypatch.chdir(target)
        out = "."
    elif where == "home":
        monkeypatch.setenv("HOME", str(target))
        out = "~"
    else:
        out = str(target)
    result = nava("render", str(sb), "--out", out)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("error: ") and "is not empty and is not a nava-director project" in lines[0]
    assert all(path.read_bytes() == data for path, data in files.items())
    assert sorted(p.name for p in target.iterdir()) == sorted({p.relative_to(target).parts[0] for p in files})


def test_an_empty_folder_becomes_a_project_and_cleaning_stays_in_its_places(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    sb = make_storyboard(tmp_path)
    (tmp_path / "out").mkdir()
    assert nava("render", str(sb), "--out", str(tmp_path / "out")).exit_code == 0
    assert (tmp_path / "out" / MARKER).is_file()
    kept = tmp_path / "out" / "my notes" / "idea.partial"
    kept.parent.mkdir()
    kept.write_text("mine")
    ours = tmp_path / "out" / "shots" / "a" / "take-001" / ".clip.mp4.123.partial"
    ours.write_bytes(b"half")
    assert nava("render", str(sb), "--out", str(tmp_path / "out")).exit_code == 0
    assert kept.read_text() == "mine" and not ours.exists()


def test_a_project_from_before_the_marker_is_still_a_project(rendered, tmp_path):
    sb = copy_of(rendered, tmp_path)
    (tmp_path / "sb.nava" / MARKER).unlink()
    assert render(director(sb)).rendered == []
    assert (tmp_path / "sb.nava" / MARKER).is_file()


def test_a_folder_that_cannot_be_written_is_one_line(tmp_path):
    sb = make_storyboard(tmp_path)
    for out in ("/proc/nava-director-test", "/sys/nava-director-test"):  # read-only file systems, even for root
        result = nava("render", str(sb), "--out", out)
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines()[0].startswith(f"error: cannot write the project folder {out}: ")
    with pytest.raises(InputError, match="is a file, not a project folder"):
        Project(sb).claim()


def _take(tmp_path: Path, shot: str) -> Path:
    return next((tmp_path / "sb.nava" / "shots" / shot).glob("take-*"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """A rendered project, rendered once: each test works on a copy (keys hold no paths)."""
    folder = tmp_path_factory.mktemp("rendered")
    render(director(make_storyboard(folder)))
    return folder


def copy_of(rendered: Path, tmp_path: Path) -> Path:
    shutil.copytree(rendered, tmp_path, dirs_exist_ok=True)
    return tmp_path / "sb.yaml"


def _short_clip(path: Path) -> None:
    write_clip(Clip(np.zeros((5, 64, 96, 3), np.uint8), np.zeros((2, 10000), np.float32), 48000, 24), path)


DAMAGE = {
    "clip deleted": lambda take: (take / "clip.mp4").unlink(),
    "clip truncated": lambda take: (take / "clip.mp4").write_bytes((take / "clip.mp4").read_bytes()[:600]),
    "clip empty": lambda take: (take / "clip.mp4").write_bytes(b""),
    "clip is text": lambda take: (take / "clip.mp4").write_text("not a film"),
    "clip of another length": lambda take: _short_clip(take / "clip.mp4"),
    "last frame deleted": lambda take: (take / "last_frame.png").unlink(),
    "meta.json garbage": lambda take: (take / "meta.json").write_text("{not json"),
    "meta.json without a key": lambda take: (take / "meta.json").write_text('{"seed": 5}'),
    "meta.json binary": lambda take: (take / "meta.json").write_bytes(b"\xff\xfe\x00"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_take_is_set_aside_and_rendered_again(rendered, tmp_path, damage):
    sb = copy_of(rendered, tmp_path)
    take = _take(tmp_path, "b")
    DAMAGE[damage](take)
    report = render(director(sb))
    assert report.rendered == ["b"]  # b again (deterministic: e, continued from it, gets the same frame)
    assert len(report.set_aside) == 1 and report.set_aside[0].startswith("shots/b/take-001: ")
    assert take.with_name("take-001.damaged").is_dir()  # kept
    assert report.film is not None and Path(report.film.path).is_file()
    again = render(director(sb))
    assert again.rendered == [] and again.set_aside == []
    (take.with_name("take-001.damaged") / "meta.json").unlink(missing_ok=True)  # what is set aside stays
    assert render(director(sb)).rendered == [] and take.with_name("take-001.damaged").is_dir()


@pytest.mark.parametrize("text", [
    "{not json", "", "[]", '{"size": [160]}', '{"shots": {"b": {"chosen": "x"}}, "size": [96, 64]}',
    '{"version": 1, "steps": -3, "shots": 5}',
])
def test_a_damaged_manifest_is_rebuilt_from_the_takes(rendered, tmp_path, text):
    sb = copy_of(rendered, tmp_path)
    (tmp_path / "sb.nava" / "manifest.json").write_text(text, encoding="utf-8")
    listed = CliRunner().invoke(app, ["takes", str(sb), "--json"])  # reads only: one rebuilt view, nothing written
    assert listed.exit_code == 0, listed.output
    assert (tmp_path / "sb.nava" / "manifest.json").read_text(encoding="utf-8") == text
    report = render(director(sb))
    assert report.rendered == [] and report.set_aside[0].startswith("manifest.json did not read")
    assert (tmp_path / "sb.nava" / "manifest.json.damaged").read_text(encoding="utf-8") == text
    assert json.loads((tmp_path / "sb.nava" / "manifest.json").read_text())["shots"]["a"]["chosen"] == 1


def test_a_full_disk_during_the_cut_still_writes_report_json(rendered, tmp_path):
    sb = copy_of(rendered, tmp_path)
    limit = 8_000  # bytes a file may grow to: report.json fits, the film does not

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT), "XDG_CONFIG_HOME": "/nonexistent",
           "PYTHONDONTWRITEBYTECODE": "1"}  # a byte-code cache cut short by the limit would outlive the test
    command = [sys.executable, "-c", "from nava_director.cli import main; main()", "render", str(sb),
               "--size", SIZE, "--loudness", "-20"]  # the takes stay; only the cut runs again
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, preexec_fn=small_files,
                          timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[0].startswith("error: "), done.stderr
    report = json.loads((tmp_path / "sb.nava" / "report.json").read_text())
    assert report["reused"] and "error" in report["film"]
    assert len(list((tmp_path / "sb.nava").glob("*.partial"))) == 0
    healed = render(director(sb, loudness=-20))  # room again: the same command cuts the film
    assert healed.film.cut


@pytest.mark.slow
def test_a_no_change_run_of_50_shots_stays_under_2_s(tmp_path):
    sb = make_storyboard(tmp_path)
    shots = "".join(f"      - {{id: s{i}, duration: 1, action: 走路}}\n" for i in range(45))
    sb.write_text(sb.read_text(encoding="utf-8") + shots, encoding="utf-8")
    assert len(render(director(sb)).rendered) == 50
    started = time.perf_counter()
    report = render(director(sb))
    took = time.perf_counter() - started
    assert report.rendered == [] and report.film.cut is False
    print(f"no-change run of 50 shots: {took:.2f} s")
    assert took < 2.0, took


def test_a_damaged_take_cannot_be_picked(rendered, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    sb = copy_of(rendered, tmp_path)
    (_take(tmp_path, "a") / "clip.mp4").write_bytes(b"x")
    result = CliRunner().invoke(app, ["pick", str(sb), "a", "1"])
    assert result.exit_code == 2 and result.stderr.startswith("error: take 1 of shot 'a' is damaged: clip.mp4 ")


def test_new_takes_never_get_a_seed_past_the_largest(tmp_path):
    from nava_director.render.decide import new_seeds
    from nava_director.storyboard.model import SEED_MAX

    assert new_seeds([], "k", SEED_MAX, 3, explicit=False) == [SEED_MAX, 0, 1]
    sb = make_storyboard(tmp_path)
    sb.write_text(sb.read_text(encoding="utf-8").replace("seed: 5", f"seed: {SEED_MAX}"), encoding="utf-8")
    render(director(sb))
    from nava_director.render.jobs import RenderOptions

    report = render(director(sb), RenderOptions(shots=("a",), takes=2))
    assert report.new_takes == {"a": [2, 3]}
    seeds = sorted(json.loads(m.read_text())["seed"] for m in (tmp_path / "sb.nava" / "shots" / "a").glob("*/meta.json"))
    assert seeds == [0, 1, SEED_MAX]
