"""Takes: several seeds of a shot, picking one, locking it."""

from __future__ import annotations

import pytest
from storyboard_project import director, edit, make_storyboard

from nava_director.errors import InputError
from nava_director.render.jobs import RenderOptions
from nava_director.render.run import render
from nava_director.render.take_commands import pick, set_locked, status


@pytest.fixture
def sb(tmp_path):
    path = make_storyboard(tmp_path)
    render(director(path))
    return path


def states(sb):
    return {s.job.shot: s for s in status(director(sb))}


def test_three_new_takes_with_distinct_seeds(sb):
    report = render(director(sb), RenderOptions(shots=("c",), takes=3))
    assert report.rendered == ["c"] and sorted(report.reused) == ["a", "b", "d", "e"]
    takes = states(sb)["c"].takes
    assert [t.n for t in takes] == [1, 2, 3, 4]
    assert [t.seed for t in takes] == [5, 6, 7, 8]  # the storyboard's seed 5, then the next unused
    assert len({t.clip.read_bytes() for t in takes}) == 4
    assert states(sb)["c"].chosen.n == 1  # new takes do not change the film until picked
    assert report.new_takes == {"c": [2, 3, 4]}  # what the summary tells the director to pick from


def test_explicit_seeds(sb):
    render(director(sb), RenderOptions(shots=("a",), takes=2, seed=40))
    assert [t.seed for t in states(sb)["a"].takes] == [5, 40, 41]


def test_pick_changes_the_chosen_take_and_marks_the_chain_stale(sb):
    render(director(sb), RenderOptions(shots=("a",), takes=1))
    before = states(sb)
    assert before["a"].chosen.n == 1 and before["b"].status == "fresh"
    pick(director(sb), "a", 2)
    after = states(sb)
    assert after["a"].chosen.n == 2 and after["a"].status == "fresh"
    assert after["b"].status == "stale" and after["e"].status == "stale"
    assert after["c"].status == "fresh" and after["d"].status == "fresh"
    report = render(director(sb))
    assert report.rendered == ["b", "e"]
    # the picked take survives a plain render, and again
    assert states(sb)["a"].chosen.n == 2
    assert render(director(sb)).rendered == [] and states(sb)["a"].chosen.n == 2


def test_pick_of_a_missing_take_is_a_clear_error(sb):
    with pytest.raises(InputError, match="no take 9"):
        pick(director(sb), "a", 9)


def test_pick_of_a_take_of_older_inputs_needs_lock(sb):
    edit(sb, "陈默走进院子", "陈默慢慢走进院子")
    render(director(sb))  # take 2 of c: the new inputs
    with pytest.raises(InputError, match="take 1 of shot 'c' was rendered from other inputs"):
        pick(director(sb), "c", 1)
    assert states(sb)["c"].chosen.n == 2
    pick(director(sb), "c", 1, lock=True)
    assert states(sb)["c"].chosen.n == 1 and states(sb)["c"].status == "locked"
    assert render(director(sb)).rendered == []


def test_takes_of_an_unknown_shot_is_a_clear_error(sb):
    with pytest.raises(InputError, match="no shot 'zz'"):
        status(director(sb), "zz")
    assert [s.job.shot for s in status(director(sb), "c")] == ["c"]


def test_a_locked_shot_keeps_its_take_when_its_inputs_change(sb):
    set_locked(director(sb), "c", True)
    edit(sb, "陈默走进院子", "陈默跑进院子")
    report = render(director(sb))
    assert report.rendered == [] and report.locked == ["c"]
    assert states(sb)["c"].status == "locked"
    set_locked(director(sb), "c", False)
    assert render(director(sb)).rendered == ["c", "d"]


def test_takes_assume_the_steps_of_the_last_render(sb):
    fewer = director(sb, steps=3)
    assert sorted(render(fewer).rendered) == ["a", "b", "c", "d", "e"]  # steps are in every key
    assert {s.status for s in states(sb).values()} == {"fresh"}


def test_takes_asks_no_llm(sb):
    set_locked(director(sb), "c", True)
    rewriting = director(sb, rewriter="vllm", vllm_url="http://127.0.0.1:9", vllm_model="q")
    found = {s.job.shot: s for s in status(rewriting)}  # no server answers there: none is asked
    assert all(s.key is None for s in found.values())
    assert found.pop("c").status == "locked"  # a lock holds whatever the captions
    assert {s.status for s in found.values()} == {"stale"}
