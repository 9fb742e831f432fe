"""A malformed command line is a user mistake like any other: one line and its fix, exit 2
(Typer's own usage panel spans several boxed lines)."""

from __future__ import annotations

import json

import pytest

from storyboard_project import ROOT, cli

DEMO = str(ROOT / "storyboards" / "demo.yaml")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["render", DEMO, "--steps", "abc"], "Invalid value for '--steps'"),
        (["render", DEMO, "--no-such-flag"], "No such option: --no-such-flag"),
        (["render"], "Missing argument 'storyboard'"),
        (["rendr", DEMO], "No such command 'rendr'. Did you mean 'render'?"),
        (["pick", DEMO, "arrival"], "Missing argument"),
        (["render", DEMO, "--gpus", "two"], "Invalid value for '--gpus'"),
    ],
)
def test_a_malformed_command_line_is_one_line_and_exit_2(args, says):
    done = cli(*args, check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and says in lines[0], done.stderr
    command = "nava-director" if args[0] == "rendr" else f"nava-director {args[0]}"
    assert lines[1:] == [f"hint: see `{command} --help`"]
    assert "Traceback" not in done.stderr and "╭" not in done.stderr and done.stdout == ""


def test_a_malformed_command_line_with_json_answers_json():
    done = cli("render", DEMO, "--steps", "x", "--json", check=False)
    error = json.loads(done.stdout)
    assert done.returncode == 2 and error["exit_code"] == 2
    assert "--steps" in error["error"] and error["hint"] == "see `nava-director render --help`"


def test_help_still_prints_and_exits_0():
    done = cli("render", "--help")
    assert "Usage: nava-director render" in done.stdout
