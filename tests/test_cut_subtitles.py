"""Subtitles: cue timing inside shots, SRT and WebVTT text."""

from __future__ import annotations

from pathlib import Path

import pytest

from nava_director.cut.edit import CutShot, plan_edit
from nava_director.cut.subtitles import Cue, film_cues, spoken_length, to_srt, to_vtt


def test_spoken_length_counts_characters_and_words():
    assert spoken_length("你好，世界") == 4
    assert spoken_length("hello there, friend") == 3
    assert spoken_length("好 ok") == 2
    assert spoken_length("……") == 1  # never zero


def test_cues_follow_the_sound_of_their_shot():
    shots = [
        CutShot("a", Path("a"), 48, 24, dialogue=[("Ann", "一二三"), ("Bob", "四")]),
        CutShot("b", Path("b"), 48, 24, audio_lead_s=0.5, dialogue=[("Bob", "go")]),
    ]
    cues = film_cues(plan_edit(shots, 24))
    # a is heard until b's sound leads in at 1.5 s; its lines share that 3:1
    assert [(c.start, c.end, c.shot_id) for c in cues] == [
        (0.0, pytest.approx(1.125), "a"),
        (pytest.approx(1.125), pytest.approx(1.5), "a"),
        (pytest.approx(1.5), pytest.approx(3.5), "b"),
    ]


def test_srt_and_vtt_text():
    cues = [Cue(0.5, 2.25, "a < b & c", "Dr. Li", "s1"), Cue(3661.0015, 3662, "旁白", None, "s2")]
    assert to_srt(cues) == (
        "1\n00:00:00,500 --> 00:00:02,250\na <\u2060 b & c\n\n2\n01:01:01,002 --> 01:01:02,000\n旁白\n"
    )
    assert to_vtt(cues) == (
        "WEBVTT\n\n00:00:00.500 --> 00:00:02.250\n<v Dr. Li>a &lt; b &amp; c\n\n"
        "01:01:01.002 --> 01:01:02.000\n旁白\n"
    )
