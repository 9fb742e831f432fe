"""Keys hold nothing that depends on where the command runs: the same storyboard named
relatively, absolutely, through `./`, from another folder (and its project named so with
--out) renders nothing and cuts nothing the second time."""

from __future__ import annotations

import json

from storyboard_project import SIZE, make_storyboard
from typer.testing import CliRunner

from nava_director.cli import app


def _render(*args: str) -> dict:
    result = CliRunner().invoke(app, ["render", *args, "--size", SIZE, "--engine", "animatic",
                                      "--rewriter", "template", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_same_storyboard_by_any_path_is_one_project(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    sb = make_storyboard(tmp_path / "films")
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "films")
    first = _render("sb.yaml")
    assert first["film"]["cut"] is True and len(first["rendered"]) == 5
    namings = [
        (tmp_path / "films", ["./sb.yaml"]),
        (tmp_path / "films", [str(sb)]),
        (tmp_path / "elsewhere" / "deeper", ["../../films/sb.yaml"]),
        (tmp_path / "elsewhere", [str(sb), "--out", "../films/sb.nava"]),
        (tmp_path, ["films/./sb.yaml", "--out", str(tmp_path / "films" / "sb.nava")]),
    ]
    for folder, args in namings:
        monkeypatch.chdir(folder)
        again = _render(*args)
        assert again["rendered"] == [] and again["film"]["cut"] is False, (folder, args)
