"""`nava-director validate` and `plan` as a user runs them: the real process, exit codes, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from storyboard_helpers import make_project

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "storyboards" / "demo.yaml"
HEAVY = ("torch", "diffusers", "transformers", "av")

BROKEN = (
    "cast: cast.yaml\n"
    "scenes:\n"
    "  - id: s\n"
    "    shots:\n"
    "      - id: a\n"
    "        duration: 12\n"
    "        dialogue:\n"
    "          - {who: wang, line: 你好。}\n"
)


def nava(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    """Run the `nava-director` command in a clean environment (no user config, no NAVA_*)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NAVA_")}
    clean.update(XDG_CONFIG_HOME=str(cwd / ".no-user-config"), COLUMNS="200", **env)
    script = Path(sys.executable).with_name("nava-director")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from nava_director.cli import main; main()"]
    return subprocess.run([*command, *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=120)


@pytest.fixture()
def project(tmp_path):
    return make_project(tmp_path)


def test_validate_accepts_the_demo():
    result = nava("validate", "storyboards/demo.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: storyboards/demo.yaml: 海边的重逢: 2 scene(s), 4 shot(s)")
    assert result.stderr == ""


def test_validate_rejects_with_exit_2_and_compiler_style_lines(project):
    (project / "boards").mkdir()
    make_project(project / "boards")
    (project / "boards" / "bad.yaml").write_text(BROKEN, encoding="utf-8")
    result = nava("validate", "boards/bad.yaml", cwd=project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "boards/bad.yaml:6:19: scenes[0].shots[0].duration: 12 s is longer than the engine's 10 s limit "
        "(use 1–10 s, or split the shot)",
        "boards/bad.yaml:8:19: scenes[0].shots[0].dialogue[0].who: 'wang' is not in the cast (known: chen, lin)",
        "2 error(s) in the storyboard",
    ]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_validate_json_reports_errors_as_data(project):
    (project / "bad.yaml").write_text(BROKEN, encoding="utf-8")
    result = nava("validate", "bad.yaml", "--json", cwd=project)
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["exit_code"] == 2 and data["error"] == "2 error(s) in the storyboard"
    assert data["diagnostics"][1] == {
        "path": "bad.yaml", "line": 8, "col": 19, "where": "scenes[0].shots[0].dialogue[0].who",
        "what": "'wang' is not in the cast", "fix": "known: chen, lin", "severity": "error",
    }
    assert result.stderr.startswith("bad.yaml:6:19: ")


def test_debug_shows_the_traceback(project):
    (project / "bad.yaml").write_text(BROKEN, encoding="utf-8")
    result = nava("validate", "bad.yaml", "--debug", cwd=project)
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "bad.yaml:6:19: scenes[0].shots[0].duration: 12 s" in result.stderr


def test_missing_file_is_a_clear_error(project):
    result = nava("validate", "nope.yaml", cwd=project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: nope.yaml: no such file", "hint: check the path"]


def test_a_warning_exits_0(project):
    (project / "fast.yaml").write_text(BROKEN.replace("12", "1").replace("wang", "lin").replace(
        "你好。", "我们已经很多很多年没有见面了吧。"), encoding="utf-8")
    result = nava("validate", "fast.yaml", cwd=project)
    assert result.returncode == 0
    assert result.stderr.startswith("fast.yaml:7:9: warning: scenes[0].shots[0].dialogue: the speech of shot 'a'")
    assert "1 warning(s)" in result.stdout


def test_validate_json():
    result = nava("validate", "storyboards/portrait.yaml", "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["title"] == "雨夜来电" and data["shots"] == 3 and data["characters"] == ["chen", "lin"]


def test_plan_table_says_engine_and_why(tmp_path):
    result = nava("plan", "storyboards/demo.yaml")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ("arrival", "reunion", "together", "陈默, 林然", "121", "436", "4 shots", "animatic",
                 "no NAVA weights configured"):
        assert text in out
    with_weights = nava("plan", "storyboards/demo.yaml", NAVA_WEIGHTS=str(tmp_path))
    assert f"engine: nava — NAVA weights configured (env NAVA_WEIGHTS: {tmp_path})" in with_weights.stdout
    missing = nava("plan", "storyboards/demo.yaml", NAVA_WEIGHTS="/models/nava")  # never "configured"
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("error: env NAVA_WEIGHTS: weights '/models/nava' do not exist")


def test_plan_json():
    result = nava("plan", "storyboards/demo.yaml", "--json", "--engine", "animatic", "--size", "320x176")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["engine"] == {"name": "animatic", "reason": "engine = animatic (flag)"}
    assert data["size"] == [320, 176]
    assert [s["shot"] for s in data["shots"]] == ["arrival", "reunion", "answer", "together"]
    assert data["shots"][1] == {
        "scene": "beach", "shot": "reunion", "seconds": 5.0, "render_seconds": 121 / 24, "frames": 121,
        "audio_tokens": 127,
        "speakers": ["chen", "lin"], "continue_from": "arrival", "image": None, "seed": 7,
    }
    assert data["totals"]["frames"] == 436
    assert data["captions"]["writer"] == "template" and data["captions"]["renders_again"] == []


def test_plan_rejects_a_bad_flag():
    result = nava("plan", "storyboards/demo.yaml", "--size", "huge")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --size: size 'huge' is not WIDTHxHEIGHT")


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_validate_and_plan_import_no_torch(command):
    code = (
        "import sys\n"
        "from nava_director.cli import app\n"
        f"try:\n    app([{command!r}, {str(DEMO)!r}])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
