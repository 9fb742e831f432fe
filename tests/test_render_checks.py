"""The checks in the render loop: every new take measured, --retake, the check command.

Failing takes are made for real by an animatic whose lines go unspoken (its clips have the
bed and the cards, no speech): the speech check hears that, on every take or on the
storyboard's seed only.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from storyboard_project import cli, director, edit, make_storyboard

from nava_director.checks import CHECKS_VERSION
from nava_director.cli.render import checks_summary
from nava_director.engines.animatic import AnimaticEngine
from nava_director.render.run import render
from nava_director.render.take_commands import pick, status


class MuteAnimatic(AnimaticEngine):
    """An animatic whose lines are never said (``mute_seed``: only at that seed)."""

    id = "animatic-mute"

    def __init__(self, mute_seed: int | None = None):
        super().__init__()
        self.mute_seed = mute_seed

    def render(self, request, progress=None):
        if self.mute_seed is None or request.seed == self.mute_seed:
            request = replace(request, speech=[])
        return super().render(request, progress)


def states(sb, **asked):
    return {s.job.shot: s for s in status(director(sb, **asked))}


def meta(take) -> dict:
    return json.loads((take.folder / "meta.json").read_text(encoding="utf-8"))


def test_render_measures_every_new_take_and_reports_it(tmp_path):
    sb = make_storyboard(tmp_path)
    report = render(director(sb, checks=True))
    assert sorted(report.checks) == ["a", "b", "c", "d", "e"]
    assert all(not note.failed and note.retakes == 0 for note in report.checks.values())
    for state in states(sb).values():
        record = meta(state.chosen)["checks"]
        assert record["version"] == CHECKS_VERSION and record["failed"] == []
        speech = next(r for r in record["results"] if r["check"] == "speech")
        assert speech["status"] == ("pass" if state.job.shot in ("b", "c") else "not-run")
    again = render(director(sb, checks=True))  # nothing new: the stored records are reported
    assert again.rendered == [] and sorted(again.checks) == sorted(report.checks)
    assert "5 of 5 checked shot(s) pass" in checks_summary(again)

    sb2 = make_storyboard(tmp_path / "unchecked")
    assert render(director(sb2)).checks == {}  # --no-check: nothing measured, nothing stored
    assert all("checks" not in meta(s.chosen) for s in states(sb2).values())


def test_retake_2_on_an_always_failing_shot_renders_3_takes_and_1_on_a_passing_shot(tmp_path):
    sb = make_storyboard(tmp_path)
    report = render(director(sb, engine=MuteAnimatic(), checks=True, retake=2))
    found = states(sb)
    assert {shot: len(s.takes) for shot, s in found.items()} == {"a": 1, "b": 3, "c": 3, "d": 1, "e": 1}
    for shot in ("b", "c"):
        note = report.checks[shot]
        assert note.failed == ["speech"] and note.retakes == 2 and note.take == 1 and note.chosen_by_checks
        assert [t.seed for t in found[shot].takes] == [5, 6, 7]
    assert report.checks["a"].retakes == 0 and not report.checks["a"].failed
    assert report.failed == []  # a failing check is not a failed render
    words = checks_summary(report)
    assert "3 of 5 checked shot(s) pass" in words and "b (take 001) fails speech" in words
    assert "b: 2 retake(s)" in words
    assert render(director(sb, engine=MuteAnimatic(), checks=True, retake=2)).rendered == []  # kept, not re-rolled


def test_the_take_the_checks_chose_is_kept_until_a_pick_and_a_picked_shot_is_never_replaced(tmp_path):
    sb = make_storyboard(tmp_path)
    engine = MuteAnimatic(mute_seed=5)  # the storyboard's seed fails, the next one speaks
    report = render(director(sb, engine=engine, checks=True, retake=2))
    assert report.checks["c"].take == 2 and report.checks["c"].retakes == 1 and not report.checks["c"].failed
    found = states(sb, engine=engine)
    assert found["c"].chosen.n == 2 and found["c"].entry.by_checks == 2 and len(found["c"].takes) == 2
    assert render(director(sb, engine=engine, checks=True, retake=2)).rendered == []
    assert states(sb, engine=engine)["c"].chosen.n == 2  # the no-change run keeps the winner

    pick(director(sb, engine=engine), "c", 1)  # the user's pick overrides the checks' choice
    assert states(sb, engine=engine)["c"].chosen.n == 1
    assert render(director(sb, engine=engine, checks=True, retake=2)).rendered == ["d"]  # d continues from c
    edit(sb, "我来了。", "我回来了。")  # a picked shot whose inputs changed renders once, no retakes
    report = render(director(sb, engine=engine, checks=True, retake=2))
    assert "c" in report.rendered and report.checks["c"].retakes == 0 and report.checks["c"].failed == ["speech"]
    assert len(states(sb, engine=engine)["c"].takes) == 3


@pytest.fixture
def failing_project(tmp_path):
    sb = make_storyboard(tmp_path)
    render(director(sb, engine=MuteAnimatic(), out=tmp_path / "p"))  # rendered unchecked
    return sb, tmp_path / "p"


def test_the_check_command_measures_an_existing_project_and_exits_1_on_a_failing_take(failing_project):
    sb, out = failing_project
    done = cli("check", str(sb), "--out", str(out), check=False)
    assert done.returncode == 1, done.stderr
    assert "speech" in done.stdout and "fail" in done.stdout
    rows = json.loads(cli("check", str(sb), "--out", str(out), "--json", check=False).stdout)
    assert {row["shot"]: row["failed"] for row in rows} == {"a": False, "b": True, "c": True, "d": False, "e": False}
    b = next(row for row in rows if row["shot"] == "b")
    speech = next(r for r in b["checks"]["results"] if r["check"] == "speech")
    assert speech["status"] == "fail" and "你好" in speech["reason"]
    assert next(r for r in b["checks"]["results"] if r["check"] == "words")["status"] == "not-run"
    wrong = cli("check", str(sb), "--out", str(out), "--asr-model", str(out), check=False)
    assert wrong.returncode == 2 and "--asr-model" in wrong.stderr and "Traceback" not in wrong.stderr
    only = json.loads(cli("check", str(sb), "--out", str(out), "--shot", "a", "--json").stdout)
    assert [row["shot"] for row in only] == ["a"]  # a passing shot alone: exit 0
    listed = json.loads(cli("takes", str(sb), "--out", str(out), "--json").stdout)
    assert {row["shot"]: row["takes"][0]["checks"]["failed"] for row in listed}["c"] == ["speech"]


def test_the_check_command_on_a_passing_animatic_project(tmp_path):
    sb = make_storyboard(tmp_path)
    refused = cli("render", str(sb), "--no-check", "--retake", "2", check=False)
    assert refused.returncode == 2 and "--retake 2 needs the take checks" in refused.stderr
    first = cli("render", str(sb), "--engine", "animatic", "--size", "96x64", "--rewriter", "template", "--json")
    report = json.loads(first.stdout)
    assert sorted(report["checks"]) == ["a", "b", "c", "d", "e"]
    done = cli("check", str(sb), "--all-takes")
    assert done.returncode == 0 and "pass" in done.stdout
    # the checks that did not run: named on their take's row, each reason said once under the table
    legend = [line for line in done.stdout.splitlines() if line.startswith("not run: words:")]
    assert len(legend) == 1 and "--asr-model" in legend[0], done.stdout
