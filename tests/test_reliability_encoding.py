"""A terminal or pipe that cannot show the storyboard's characters (PYTHONIOENCODING=ascii):
every command still runs to its exit code, the characters escaped, never an encode error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from storyboard_project import ROOT, SIZE, make_storyboard


def nava(*args: str, encoding: str = "ascii") -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT), "XDG_CONFIG_HOME": "/nonexistent",
           "PYTHONIOENCODING": encoding, "LC_ALL": "C", "COLUMNS": "200"}
    command = [sys.executable, "-c", "from nava_director.cli import main; main()", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300)


@pytest.mark.parametrize("encoding", ["ascii"])
def test_validate_plan_and_an_error_in_a_narrow_encoding(tmp_path, encoding):
    ok = nava("validate", "storyboards/demo.yaml", encoding=encoding)
    assert ok.returncode == 0 and b"Error" not in ok.stderr, ok.stderr
    assert ok.stdout.decode("ascii").startswith("ok: storyboards/demo.yaml: \\u6d77\\u8fb9")
    plan = nava("plan", "storyboards/demo.yaml", "--json", encoding=encoding)
    assert plan.returncode == 0 and json.loads(plan.stdout)["storyboard"] == "storyboards/demo.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: 坏的\nscenes:\n  - id: 场\n    shots: []\n", encoding="utf-8")
    refused = nava("validate", str(bad), encoding=encoding)
    assert refused.returncode == 2 and b"Traceback" not in refused.stderr
    assert refused.stderr.decode("ascii").startswith(f"{bad}:4:12: scenes[0].shots: ")


def test_render_in_ascii(tmp_path):
    sb = make_storyboard(tmp_path)
    done = nava("render", str(sb), "--size", SIZE)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    assert Path(tmp_path / "sb.nava" / "film.mp4").is_file()
    takes = nava("takes", str(sb))
    assert takes.returncode == 0 and b"Traceback" not in takes.stderr, takes.stderr
