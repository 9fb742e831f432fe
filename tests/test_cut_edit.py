"""The edit plan: where each shot's picture and sound sit on the film (no media decoded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nava_director.cut.edit import CutShot, Span, plan_edit
from nava_director.errors import InputError


def shot(name: str, frames: int = 49, **kw) -> CutShot:
    return CutShot(shot_id=name, clip_path=Path(f"{name}.mp4"), frames=frames, fps=24, **kw)


def test_cuts_lay_shots_end_to_end():
    edit = plan_edit([shot("a"), shot("b", 25), shot("c")], 24)
    assert [(p.start, p.stop) for p in edit.placements] == [(0, 49), (49, 74), (74, 123)]
    assert edit.frames == 123
    assert edit.placements[1].join_in.picture == Span(49, 49) == edit.placements[1].join_in.sound


def test_dissolve_overlaps_by_its_length_in_picture_and_sound():
    edit = plan_edit([shot("a"), shot("b", transition="dissolve", transition_s=0.5)], 24)
    a, b = edit.placements
    assert edit.frames == 49 + 49 - 12
    assert b.join_in.picture == b.join_in.sound == Span(37, 49) == a.join_out.picture
    assert a.clean == Span(0, 37) and b.clean == Span(49, 86)


def test_continued_shot_drops_its_first_frame():
    edit = plan_edit([shot("a"), shot("b", continued=True)], 24)
    b = edit.placements[1]
    assert (b.head, b.start, b.length, edit.frames) == (1, 49, 48, 97)
    assert b.source_frame(49) == 1


def test_first_shot_is_never_continued():
    assert plan_edit([shot("a", continued=True)], 24).placements[0].head == 0


def test_j_cut_starts_the_sound_before_the_picture():
    edit = plan_edit([shot("a"), shot("b", audio_lead_s=0.25)], 24)
    a, b = edit.placements
    assert b.start == 43 and edit.frames == 92
    assert b.join_in.sound == Span(43, 43) and b.join_in.picture == Span(49, 49)
    assert a.sound == Span(0, 43) and a.picture == Span(0, 49)
    assert b.sound == Span(43, 92) and b.picture == Span(49, 92)


def test_l_cut_runs_the_sound_on_under_the_next_picture():
    edit = plan_edit([shot("a"), shot("b", audio_lag_s=0.25)], 24)
    a, b = edit.placements
    assert b.join_in.picture == Span(43, 43) and b.join_in.sound == Span(49, 49)
    assert a.picture == Span(0, 43) and a.sound == Span(0, 49)


def test_fades_touch_only_their_shot():
    edit = plan_edit([shot("a", transition="fade-in", transition_s=0.5), shot("b", transition="fade-out")], 24)
    a, b = edit.placements
    assert (a.fade_in, a.fade_out, b.fade_in, b.fade_out) == (12, 0, 0, 12)
    assert a.clean == Span(12, 49) and b.clean == Span(49, 86) and edit.frames == 98


def test_transition_longer_than_a_shot_is_refused():
    with pytest.raises(InputError, match="'b'.*too short"):
        plan_edit([shot("a"), shot("b", 9, transition="dissolve", transition_s=0.5)], 24)


def test_mixed_render_rates_are_refused():
    with pytest.raises(InputError, match="25 fps"):
        plan_edit([shot("a"), CutShot("b", Path("b.mp4"), 49, 25)], 24)
