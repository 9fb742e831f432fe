"""The commands end to end: render a small storyboard to a film, takes/pick/lock, the lock, failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from storyboard_project import SIZE, cli, director, make_storyboard
from typer.testing import CliRunner

from nava_director.cli import app
from nava_director.cut import read_clip
from nava_director.engines.animatic import AnimaticEngine
from nava_director.errors import NavaError, StoryboardError
from nava_director.project.folder import Project
from nava_director.render.run import render
from nava_director.render.shape import shape_of

FILM_FRAMES = 5 * 25 - 3  # five 1 s shots at 24 fps, three of them continued (first frame dropped)


@pytest.mark.slow
def test_cli_renders_a_film_then_renders_nothing(tmp_path):
    sb = make_storyboard(tmp_path)
    first = cli("render", str(sb), "--no-check", "--size", SIZE, "--json")
    report = json.loads(first.stdout)
    assert sorted(report["rendered"]) == ["a", "b", "c", "d", "e"] and report["failed"] == []
    assert set(report["captions"]) == {"a", "b", "c", "d", "e"}
    assert report["captions"]["b"] == {"writer": "template", "fallback": False}
    assert {"shots_s", "cut_s", "total_s"} <= set(report["timings"])
    film = read_clip(report["film"]["path"])
    assert film.frames.shape == (FILM_FRAMES, 64, 96, 3)
    assert film.audio.shape == (2, FILM_FRAMES * 2000) and np.abs(film.audio).max() > 0.01
    assert report["film"]["cut"] is True
    on_disk = json.loads((tmp_path / "sb.nava" / "report.json").read_text())
    assert on_disk == report

    second = cli("render", str(sb), "--no-check", "--size", SIZE)
    assert "nothing changed" in second.stdout and "not cut" in second.stdout
    report = json.loads((tmp_path / "sb.nava" / "report.json").read_text())
    assert report["rendered"] == [] and report["film"]["cut"] is False


@pytest.mark.slow
def test_cli_takes_pick_lock_unlock(tmp_path):
    sb = make_storyboard(tmp_path)
    cli("render", str(sb), "--no-check", "--size", SIZE, "--shot", "a", "--takes", "2")
    rows = {r["shot"]: r for r in json.loads(cli("takes", str(sb), "--json").stdout)}
    assert [t["seed"] for t in rows["a"]["takes"]] == [5, 6] and rows["a"]["chosen"] == 1
    assert {r["status"] for r in rows.values()} == {"fresh"}  # at the size last rendered at
    assert "take 002" in cli("pick", str(sb), "a", "2").stdout
    rows = {r["shot"]: r for r in json.loads(cli("takes", str(sb), "--json").stdout)}
    assert rows["a"]["chosen"] == 2 and rows["b"]["status"] == "stale" and rows["e"]["status"] == "stale"
    assert "locked" in cli("lock", str(sb), "a").stdout
    assert json.loads(cli("takes", str(sb), "a", "--json").stdout)[0]["status"] == "locked"
    cli("unlock", str(sb), "a")
    missing = cli("pick", str(sb), "a", "7", check=False)
    assert missing.returncode == 2 and "no take 7" in missing.stderr


def test_a_second_render_of_the_same_project_is_refused(tmp_path):
    sb = make_storyboard(tmp_path)
    with Project(tmp_path / "sb.nava").locked():
        refused = cli("render", str(sb), "--no-check", "--size", SIZE, check=False)
    assert refused.returncode == 1
    assert "another nava-director process" in refused.stderr and "--out" in refused.stderr


class FailingOn(AnimaticEngine):
    """An engine that fails on one shot, as a GPU out of memory would."""

    def __init__(self, shot: str):
        super().__init__()
        self.shot = shot

    def render(self, request, progress=None):
        if request.shot_id == self.shot:
            raise NavaError("out of memory on the GPU")
        return super().render(request, progress)


def test_a_failed_shot_is_recorded_and_the_others_still_render(tmp_path, monkeypatch):
    sb = make_storyboard(tmp_path)
    failing = director(sb, engine=FailingOn("c"))
    report = render(failing)
    assert sorted(report.rendered) == ["a", "b", "e"]
    assert [(f.shot, f.error) for f in report.failed] == [
        ("c", "out of memory on the GPU"),
        ("d", "not rendered: it continues from 'c', which has no take"),
    ]
    assert report.film is None
    saved = json.loads((tmp_path / "sb.nava" / "report.json").read_text())
    assert saved["failed"][0] == {"shot": "c", "error": "out of memory on the GPU"}

    monkeypatch.setattr("nava_director.session.create_engine", lambda name, weights=None: FailingOn("d"))
    result = CliRunner().invoke(app, ["render", str(sb), "--no-check", "--size", SIZE, "--engine", "animatic"])
    assert result.exit_code == 1
    assert json.loads((tmp_path / "sb.nava" / "report.json").read_text())["rendered"] == ["c"]


def test_a_line_spoken_in_the_action_is_subtitled(tmp_path):
    sb = make_storyboard(tmp_path)
    text = sb.read_text(encoding="utf-8").replace("action: 陈默坐下", "action: 陈默坐下，说~~真安静~~")
    sb.write_text(text, encoding="utf-8")
    report = render(director(sb))
    srt = (tmp_path / "sb.nava" / "film.srt").read_text(encoding="utf-8")
    assert "真安静" in srt and "你好。" in srt and "我来了。" in srt
    assert "<v 陈默>我来了。" in (tmp_path / "sb.nava" / "film.vtt").read_text(encoding="utf-8")
    assert report.film.cut is True


def test_transitions_that_cannot_fit_are_refused_before_anything_renders(tmp_path):
    sb = make_storyboard(tmp_path)
    text = sb.read_text(encoding="utf-8").replace("      - id: c\n", "      - id: c\n        transition: dissolve\n"
                                                   "        transition_s: 3\n")
    sb.write_text(text, encoding="utf-8")
    with pytest.raises(StoryboardError) as refused:  # by validate's rule, at the line
        render(director(sb))
    assert all("too short for its transitions" in str(d) for d in refused.value.diagnostics)
    assert str(refused.value.diagnostics[0]).startswith(f"{sb}:22:23: scenes[0].shots[2].transition_s: ")
    assert not (tmp_path / "sb.nava" / "shots").exists()


def test_a_failed_cut_keeps_the_takes_and_writes_report_json(tmp_path, monkeypatch):
    sb = make_storyboard(tmp_path)

    def broken_cut(*args, **kwargs):
        raise NavaError("the cut broke", hint="a test")

    monkeypatch.setattr("nava_director.render.run.cut_film", broken_cut)
    with pytest.raises(NavaError, match="the cut broke"):
        render(director(sb))
    report = json.loads((tmp_path / "sb.nava" / "report.json").read_text())
    assert sorted(report["rendered"]) == ["a", "b", "c", "d", "e"] and "the cut broke" in report["film"]["error"]
    monkeypatch.undo()
    assert render(director(sb)).rendered == []  # the takes were kept


@pytest.mark.slow
def test_cli_cut_options_burn_loudness_crf(tmp_path):
    import av
    import pyloudnorm

    sb = make_storyboard(tmp_path)
    report = json.loads(
        cli("render", str(sb), "--no-check", "--size", SIZE, "--burn-subtitles", "--loudness", "-23", "--crf", "30", "--json").stdout
    )
    with av.open(report["film"]["path"]) as container:
        assert not container.streams.subtitles  # drawn into the picture instead
    film = read_clip(report["film"]["path"])
    loudness = pyloudnorm.Meter(film.sample_rate).integrated_loudness(film.audio.T.astype(np.float64))
    assert loudness == pytest.approx(-23, abs=1)
    bad = cli("render", str(sb), "--no-check", "--size", SIZE, "--crf", "99", check=False)
    assert bad.returncode == 2 and "crf 99" in bad.stderr


def test_rich_progress_follows_the_shots_and_the_engine_steps(tmp_path):
    import io

    from rich.console import Console

    from nava_director.cli.progress import RichProgress
    from nava_director.render.jobs import RenderOptions

    sb = make_storyboard(tmp_path)
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    steps = []
    with RichProgress(console) as progress:
        original = progress.step
        progress.step = lambda done, total, what: (steps.append((done, total)), original(done, total, what))
        render(director(sb), RenderOptions(), progress)
        shots, engine = progress.bars.tasks
        assert (shots.total, shots.completed) == (5, 5)
    assert steps and steps[-1][0] == steps[-1][1]  # the engine reported its steps to the end
    assert "shots" in console.file.getvalue()


def test_render_json_reports_an_error_as_json(tmp_path):
    sb = make_storyboard(tmp_path)
    result = CliRunner().invoke(app, ["render", str(sb), "--no-check", "--size", SIZE, "--crf", "99", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["exit_code"] == 2 and "crf 99" in error["error"]


def test_plan_reports_the_size_render_uses(tmp_path):
    sb = make_storyboard(tmp_path)
    flags = ["--engine", "animatic", "--rewriter", "template", "--json"]
    planned = json.loads(CliRunner().invoke(app, ["plan", str(sb), *flags]).stdout)
    assert planned["size"] == [320, 176]  # the animatic's reduced size, not the format's 1280x704
    assert tuple(planned["size"]) == shape_of(director(sb, size=None)).size  # what every shot key is made with
