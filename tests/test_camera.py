"""Camera directions -> caption phrases: every term of the closed vocabulary, both languages."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from nava_director.storyboard.camera import ANGLES, MOVES, SIZES, SPEEDS, camera_phrase
from nava_director.storyboard.model import Camera, ShotAngle, ShotMove, ShotSize, ShotSpeed

CJK = re.compile(r"[\u4e00-\u9fff]")
VOCABULARY = [(SIZES, ShotSize), (ANGLES, ShotAngle), (MOVES, ShotMove), (SPEEDS, ShotSpeed)]


@pytest.mark.parametrize("table,terms", VOCABULARY)
def test_every_term_has_a_distinct_phrase_in_both_languages(table, terms):
    assert set(table) == set(get_args(terms))
    for language in ("zh", "en"):
        phrases = [table[term](language) for term in table]
        assert len(set(phrases)) == len(phrases)  # no two terms read alike
    assert all(CJK.search(table[term]("zh")) for term in table)
    assert not any(CJK.search(table[term]("en")) for term in table)


@pytest.mark.parametrize("size", get_args(ShotSize))
def test_size_alone(size):
    assert camera_phrase(Camera(size=size)) == SIZES[size]("zh")
    assert camera_phrase(Camera(size=size), "en") == SIZES[size]("en")


@pytest.mark.parametrize("angle", get_args(ShotAngle))
def test_angle_alone(angle):
    assert camera_phrase(Camera(angle=angle)) == ANGLES[angle]("zh")


@pytest.mark.parametrize("move", get_args(ShotMove))
def test_move_alone_reads_without_a_speed(move):
    zh, en = camera_phrase(Camera(move=move)), camera_phrase(Camera(move=move), "en")
    assert "{" not in zh and "{" not in en and "  " not in en
    assert CJK.search(zh) and en.startswith(("the camera", "handheld"))


def test_structured_direction_reads_size_angle_then_move_with_its_speed():
    camera = Camera(size="wide", angle="eye-level", move="dolly-in", speed="slow")
    assert camera_phrase(camera) == "远景镜头，交代人物与环境的关系，平视角度拍摄，镜头缓缓向前推进"
    assert camera_phrase(camera, "en") == (
        "a wide shot placing the characters in their surroundings, at eye level, the camera slowly dollies in"
    )


@pytest.mark.parametrize("speed,zh,en", [("slow", "缓缓", "slowly"), ("normal", "平稳地", "steadily"),
                                         ("fast", "快速", "quickly")])
def test_speed_shapes_the_move(speed, zh, en):
    assert camera_phrase(Camera(move="pan-left", speed=speed)) == f"镜头{zh}向左摇"
    assert camera_phrase(Camera(move="pan-left", speed=speed), "en") == f"the camera {en} pans left"


def test_a_still_camera_has_no_speed_and_a_speed_alone_still_reads():
    assert camera_phrase(Camera(move="static", speed="fast")) == "机位固定，镜头保持不动"
    assert camera_phrase(Camera(speed="slow")) == "镜头运动缓慢"
    assert camera_phrase(Camera(speed="slow"), "en") == "the camera moves slowly"


def test_free_text_passes_through_and_nothing_directed_is_none():
    assert camera_phrase("  镜头跟随陈默缓慢推进，停在两人之间 ") == "镜头跟随陈默缓慢推进，停在两人之间"
    assert camera_phrase("Slow push-in on her face", "en") == "Slow push-in on her face"
    assert camera_phrase(None) is None
    assert camera_phrase(Camera()) is None
    assert camera_phrase("   ") is None
