"""Transitions, J/L cuts and fades that cannot fit are refused by `validate` at their line, by
the same rule the cut applies (``join_problems``): what validate accepts the cut can make."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML
from storyboard_helpers import diagnostics_of

from nava_director.cut.edit import CutShot, join_problems, plan_edit
from nava_director.errors import InputError
from nava_director.storyboard.load import load_storyboard
from engine.lengths import frames_for_seconds as frames_for

HEAD = "scenes:\n  - id: s\n    shots:\n"


def board(*shots: str) -> str:
    return HEAD + "".join(f"      - {{id: {chr(97 + i)}, duration: 2, action: 走{', ' + s if s else ''}}}\n"
                          for i, s in enumerate(shots))


CASES = {  # storyboard -> (line, field, words) of the one expected diagnostic; None: fits
    "lead and lag on one shot": (board("", "audio_lead_s: 0.5, audio_lag_s: 0.5"), (5, "audio_lead_s", "both")),
    "3 s + 3 s on a 2 s shot": (board("", "audio_lead_s: 3, audio_lag_s: 3"), (5, "audio_lead_s", "both")),
    "lead 3 s alone": (board("", "audio_lead_s: 3"), (5, "audio_lead_s", "shot 'a' (2.04 s) is too short")),
    "lag 2.5 s alone": (board("", "audio_lag_s: 2.5"), (5, "audio_lag_s", "is too short")),
    "dissolve longer than its shot": (board("", "transition: dissolve, transition_s: 3"),
                                      (5, "transition_s", "is too short")),
    "fade-in longer than its shot": (board("transition: fade-in, transition_s: 2.5"),
                                     (4, "transition_s", "shot 'a' (2.04 s) is too short")),
    "two joins that eat one shot": (board("", "transition: dissolve, transition_s: 1.2", "audio_lead_s: 1.2"),
                                    (5, "transition_s", "shot 'b' (2.04 s) is too short")),
    "a 1 s shot under a dissolve and a fade-out": (
        HEAD + "      - {id: a, duration: 3, action: 走}\n"
               "      - {id: b, duration: 1, action: 跑, transition: dissolve, transition_s: 0.6}\n"
               "      - {id: c, duration: 3, action: 坐, transition: dissolve, transition_s: 0.6}\n",
        (5, "transition_s", "shot 'b' (1.04 s) is too short")),
    "a lead that fits": (board("", "audio_lead_s: 1"), None),
    "a dissolve and a J cut that fit": (board("", "transition: dissolve, transition_s: 0.5", "audio_lag_s: 0.5"), None),
    "a fade-in and fade-out on one shot that fit": (board("transition: fade-in, transition_s: 1",
                                                          "transition: fade-out, transition_s: 1"), None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_validate_reports_at_the_line_what_the_cut_would_refuse(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    text, expected = CASES[name]
    lines = [line for line in diagnostics_of(text) if ": warning: " not in line]
    if expected is None:
        assert lines == []
    else:
        line, field, words = expected
        assert len(lines) >= 1 and lines[0].startswith(f"bad.yaml:{line}:"), lines
        assert f".{field}: " in lines[0] and words in lines[0], lines


@pytest.mark.parametrize("name", list(CASES))
def test_the_cut_applies_the_same_rule(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    text, expected = CASES[name]
    Path("sb.yaml").write_text(text, encoding="utf-8")
    try:
        shots = load_storyboard("sb.yaml").storyboard.shots()
    except InputError:
        assert expected is not None
        doc_shots = YAML(typ="safe").load(text)["scenes"][0]["shots"]
        cut = [CutShot(s["id"], Path(), frames_for(s["duration"]), 24, transition=s.get("transition", "cut"),
                       transition_s=s.get("transition_s", 0.5), audio_lead_s=s.get("audio_lead_s", 0.0),
                       audio_lag_s=s.get("audio_lag_s", 0.0)) for s in doc_shots]
        assert join_problems(cut, 24)
        with pytest.raises(InputError):
            plan_edit(cut, 24)
        return
    assert expected is None
    cut = [CutShot(s.id, Path(), frames_for(s.duration), 24, transition=s.transition, transition_s=s.transition_s,
                   audio_lead_s=s.audio_lead_s, audio_lag_s=s.audio_lag_s) for _, s in shots]
    edit = plan_edit(cut, 24)
    assert edit.frames < sum(s.frames for s in cut) or all(s.transition != "dissolve" and not s.audio_lead_s
                                                           and not s.audio_lag_s for s in cut)
