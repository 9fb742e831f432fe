"""The render plan: frame and audio-token counts, continuation chains in render order."""

from __future__ import annotations

import pytest
from PIL import Image
from storyboard_helpers import ROOT, load, make_project

from engine.lengths import audio_tokens as audio_tokens_for
from engine.lengths import frames_for_seconds as frames_for
from nava_director.storyboard.load import load_storyboard
from nava_director.storyboard.plan import make_plan


@pytest.mark.parametrize(
    "seconds,frames,tokens",
    [
        (1, 25, 27),  # 24/4 = 6 -> 25 frames; 25/24*25 = 26.04 -> 27
        (4, 97, 102),
        (6, 145, 152),  # 37 latent frames = 145 frames ≈ 6 s
        (10, 241, 252),
        (2.5, 61, 64),  # 15 -> 61
        (4.25, 105, 110),  # 25.5 rounds half up -> 26 -> 105
        (1.1, 29, 31),  # 6.6 -> 7 -> 29
    ],
)
def test_frames_and_audio_tokens(seconds, frames, tokens):
    assert frames_for(seconds) == frames
    assert (frames - 1) % 4 == 0
    assert audio_tokens_for(frames) == tokens


def test_demo_plan():
    plan = make_plan(load_storyboard(ROOT / "storyboards" / "demo.yaml"))
    assert [(j.scene, j.shot, j.frames, j.speakers, j.continue_from) for j in plan.jobs] == [
        ("beach", "arrival", 97, (), None),
        ("beach", "reunion", 121, ("chen", "lin"), "arrival"),
        ("beach", "answer", 97, (), None),
        ("walk", "together", 121, ("lin", "chen"), None),
    ]
    assert all(j.seed == 7 for j in plan.jobs)
    assert plan.frames == 436
    assert plan.seconds == 18
    assert plan.render_seconds == pytest.approx(436 / 24)
    assert plan.job("reunion").spec.dialogue[0].line == "好久不见。"
    assert plan.job("arrival").setting == "黄昏的海边，海浪拍岸，暖色逆光"


def test_a_continued_shot_renders_after_its_upstream(tmp_path, monkeypatch):
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (16, 16)).save(tmp_path / "key.png")
    loaded = load(
        "defaults: {seed: 3}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 2, continue_from: c}\n"
        "      - {id: b, duration: 2, continue_from: a, seed: 11}\n"
        "      - {id: c, duration: 2, continue_from: d}\n"
        "      - {id: d, duration: 2, image: key.png}\n"
        "      - {id: e, duration: 2}\n"
    )
    plan = make_plan(loaded)
    assert [j.shot for j in plan.jobs] == ["d", "c", "a", "b", "e"]
    assert [j.shot for j in plan.film] == ["a", "b", "c", "d", "e"]
    assert plan.job("d").image == (tmp_path / "key.png").resolve()
    assert (plan.job("b").seed, plan.job("a").seed) == (11, 3)
    assert plan.downstream("d") == ["c", "a", "b"]
    assert plan.downstream("a") == ["b"]
    assert plan.downstream("e") == []


def test_plan_as_dict_is_json_ready():
    import json

    plan = make_plan(load_storyboard(ROOT / "storyboards" / "portrait.yaml"))
    data = json.loads(json.dumps(plan.as_dict(), ensure_ascii=False))
    assert data["film_fps"] == 30 and data["fps"] == 24
    assert data["totals"] == {
        "shots": 3,
        "seconds": sum(shot["seconds"] for shot in data["shots"]),
        "render_seconds": pytest.approx(315 / 24),
        "frames": 315,
    }
    assert data["shots"][1]["continue_from"] == "ring"
    assert data["shots"][1]["speakers"] == ["lin", "chen"]
