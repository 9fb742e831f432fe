"""The project folder: takes count once complete, leftovers are cleaned, the lock holds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nava_director.clip import Clip
from nava_director.cut.clipfile import read_clip
from nava_director.errors import NavaError
from nava_director.project.files import read_png
from nava_director.project.folder import Project
from nava_director.project.keys import image_hash
from nava_director.project.manifest import Manifest
from nava_director.project.report import Report
from nava_director.project.takes import NewTake, TakeMeta

ROOT = Path(__file__).resolve().parents[1]


def tiny_clip(frames: int = 5, seed: int = 0) -> Clip:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (frames, 16, 24, 3), dtype=np.uint8)
    audio = (0.1 * rng.standard_normal((2, frames * 2000))).astype(np.float32)
    return Clip(frames=pixels, audio=audio, sample_rate=48_000, fps=24)


def new_take(shot: str, key: str, seed: int, clip: Clip, engine: str = "test", render_s: float = 0.0) -> NewTake:
    t, h, w, _ = clip.frames.shape
    meta = TakeMeta(engine=engine, caption="", writer="template", width=w, height=h, frames=t, fps=clip.fps, steps=1)
    return NewTake(shot, key, seed, clip, meta, render_s)


def test_take_is_written_whole_and_read_back(tmp_path):
    project = Project(tmp_path / "p.nava")
    clip = tiny_clip()
    take = project.add_take(new_take("a", "k1", 7, clip, engine="test", render_s=0.5))
    assert take.n == 1 and take.folder.name == "take-001"
    assert read_clip(take.clip).frames.shape == (5, 16, 24, 3)
    assert np.array_equal(read_png(take.last_frame), clip.frames[-1])
    assert take.last_frame_hash == image_hash(read_png(take.last_frame))
    meta = json.loads((take.folder / "meta.json").read_text())
    assert (meta["key"], meta["seed"], meta["engine"]) == ("k1", 7, "test")
    second = project.add_take(new_take("a", "k1", 8, tiny_clip(seed=1)))
    assert [t.n for t in project.takes("a")] == [1, 2] and second.seed == 8
    assert not list(tmp_path.rglob("*.partial"))


def test_unfinished_take_is_not_trusted_and_is_cleaned(tmp_path):
    project = Project(tmp_path / "p.nava")
    project.add_take(new_take("a", "k1", 0, tiny_clip()))
    half = project.shot_dir("a") / "take-002"
    half.mkdir()
    (half / "clip.mp4").write_bytes(b"not a finished clip")
    (half / ".first_frame.png.123.partial").write_bytes(b"x")
    assert [t.n for t in project.takes("a")] == [1]
    removed = project.clean()
    assert half in removed and not half.exists()
    assert [t.n for t in project.takes("a")] == [1]


def test_manifest_mirrors_takes_on_disk(tmp_path):
    project = Project(tmp_path / "p.nava")
    project.add_take(new_take("a", "k1", 3, tiny_clip(), render_s=1.0))
    manifest = Manifest(writer="template")
    manifest.shot("a").picked = 1
    project.save_manifest(manifest)
    loaded = project.manifest()
    assert loaded.writer == "template" and loaded.shots["a"].picked == 1
    entry = loaded.shots["a"].takes[0]
    assert (entry.n, entry.key, entry.seed, entry.files["clip"]) == (1, "k1", 3, "shots/a/take-001/clip.mp4")
    project.save_report(Report(rendered=["a"]))
    assert json.loads(project.report_path.read_text())["rendered"] == ["a"]


HOLD = """
import sys, time
from pathlib import Path
from nava_director.project.folder import Project
with Project(Path(sys.argv[1])).locked():
    print("locked", flush=True)
    time.sleep(60)
"""


def test_lock_refuses_a_second_process_and_dies_with_its_holder(tmp_path):
    root = tmp_path / "p.nava"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, cwd=ROOT, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(NavaError, match=rf"pid {holder.pid}\).*using"), Project(root).locked():
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    deadline = time.time() + 5
    with Project(root).locked():  # a dead process's lock never blocks
        assert time.time() < deadline
