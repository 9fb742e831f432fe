"""A rendered project for the review tests: the five-shot storyboard, rendered once per session
and copied for each test that changes it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from storyboard_project import SIZE, director, make_storyboard

from nava_director.render.jobs import RenderOptions
from nava_director.render.run import render
from nava_director.review.adapter import ReviewProject
from nava_director.session import ProjectArgs


def rendered_template(folder: Path) -> Path:
    """sb.yaml rendered, with a second take of shot c (not picked)."""
    sb = make_storyboard(folder)
    render(director(sb))
    render(director(sb), RenderOptions(shots=("c",), takes=1))
    return sb


def copy_project(template: Path, folder: Path) -> Path:
    shutil.copytree(template.parent, folder)
    return folder / template.name


def review_project(sb: Path) -> ReviewProject:
    """The page's project, as `review SB --engine animatic --size SIZE` opens it (no environment or user config)."""
    return ReviewProject(ProjectArgs(sb, engine="animatic", size=SIZE), env={}, user_config=sb.parent / "none.toml")


class LockHolder:
    """Another process holding the project's lock, as a render in a terminal does."""

    SCRIPT = (
        "import sys, time; from pathlib import Path; from nava_director.project.folder import Project\n"
        "with Project(Path(sys.argv[1])).locked():\n"
        "    print('locked', flush=True); sys.stdin.readline()\n"
    )

    def __init__(self, root: Path):
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(root)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "locked"

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> None:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        self.process.wait(30)


def wait_for(predicate, timeout: float = 60.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not true within {timeout} s")
