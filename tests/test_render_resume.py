"""A render killed (SIGKILL) at several points resumes: finished takes kept, nothing half-written trusted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storyboard_project import ROOT, make_storyboard

from nava_director.cut import read_clip
from nava_director.project.folder import Project

SHOTS = ["a", "b", "c", "d", "e"]
FRAMES = 25  # 1 s at 24 fps: 4·round(24/4) + 1
ARGS = ["--engine", "animatic", "--size", "320x176", "--rewriter", "template", "--no-check"]
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"}


def command(sb: Path) -> list[str]:
    return [sys.executable, "-c", "from nava_director.cli import main; main()", "render", str(sb), *ARGS]


def kill_when(sb: Path, condition) -> bool:
    """Start a render and SIGKILL it as soon as ``condition()`` holds; False if it finished first."""
    proc = subprocess.Popen(command(sb), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            if condition():
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.002)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_every_take_whole(project: Project) -> None:
    """Every take the project counts decodes completely at the shot's length."""
    for shot in SHOTS:
        for take in project.takes(shot):
            clip = read_clip(take.clip)
            assert clip.frames.shape[0] == FRAMES, take
            assert take.last_frame.is_file() and take.first_frame.is_file()


def _take(root: Path, shot: str) -> Path:
    return root / "shots" / shot / "take-001"


# each point on a fresh project, so that each one is reached by the run it kills
KILL_POINTS = {
    "while a clip is being encoded": lambda root: any((root / "shots").glob("*/take-*/*.partial")),
    "inside a take of c, clip written, frames not yet": lambda root: (_take(root, "c") / "clip.mp4").exists(),
    "right after b's take is complete": lambda root: (_take(root, "b") / "meta.json").exists(),
    "during the cut": lambda root: any(root.glob(".cut-*")) or (root / "film.srt").exists(),
}


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda name: name.replace(" ", "-"))
def test_killed_renders_resume_to_a_whole_film(tmp_path, point):
    sb = make_storyboard(tmp_path)
    root = tmp_path / "sb.nava"
    project = Project(root)
    assert kill_when(sb, lambda: KILL_POINTS[point](root)), f"the render finished before {point}"
    assert_every_take_whole(project)

    done = subprocess.run(command(sb), cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert not list(root.rglob("*.partial"))
    assert_every_take_whole(project)
    assert all([t.n for t in project.takes(s)] == [1] for s in SHOTS)  # no take made twice
    film = read_clip(root / "film.mp4")
    assert film.frames.shape[0] == 5 * FRAMES - 3  # three continued shots drop their first frame
    again = subprocess.run([*command(sb), "--json"], cwd=ROOT, env=ENV, capture_output=True, text=True, check=True)
    assert '"rendered": []' in again.stdout


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    sb = make_storyboard(tmp_path)
    root = tmp_path / "sb.nava"
    # as from a terminal: a test run started in the background (a CI job, `cmd &`) hands its
    # children SIGINT ignored, and Python then never turns it into KeyboardInterrupt
    proc = subprocess.Popen(command(sb), cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while proc.poll() is None and not (root / "shots" / "a").exists():  # the first shot: most of the run ahead
        time.sleep(0.002)
    assert proc.poll() is None, "the render ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again" in err
    assert not list(root.rglob("*.partial"))
    assert_every_take_whole(Project(root))
    done = subprocess.run(command(sb), cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert read_clip(root / "film.mp4").frames.shape[0] == 5 * FRAMES - 3
