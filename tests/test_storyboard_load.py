"""Loading valid storyboards: the examples, defaults, resolved paths, spans, the speaking-rate warning."""

from __future__ import annotations

import pytest
from PIL import Image
from storyboard_helpers import ROOT, diagnostics_of, load, make_project

from nava_director.storyboard.load import load_storyboard
from nava_director.storyboard.model import Camera
from nava_director.storyboard.rules import speaking_seconds


@pytest.fixture()
def project(tmp_path, monkeypatch):
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_demo_validates():
    loaded = load_storyboard(ROOT / "storyboards" / "demo.yaml")
    sb = loaded.storyboard
    assert loaded.warnings == []
    assert loaded.title == "海边的重逢"
    shots = [shot for _, shot in sb.shots()]
    assert 3 <= len(shots) <= 5
    assert set(sb.characters) == {"lin", "chen"}
    assert all(c.voice.is_file() and c.voice.is_absolute() for c in sb.characters.values())
    assert any(shot.continue_from for shot in shots)
    assert any(isinstance(shot.camera, Camera) for shot in shots)
    assert any(isinstance(shot.camera, str) for shot in shots)
    speakers = {who for shot in shots for who in shot.speakers()}
    assert speakers == {"lin", "chen"}


def test_portrait_example_validates():
    loaded = load_storyboard(ROOT / "storyboards" / "portrait.yaml")
    assert loaded.storyboard.format.aspect == "portrait"
    assert loaded.storyboard.format.size == (704, 1280)
    assert loaded.warnings == []


def test_defaults_and_title_from_the_file_name(project):
    loaded = load("scenes:\n  - id: s\n    shots:\n      - {id: a, duration: 3}\n", name="my_film.yaml")
    sb = loaded.storyboard
    assert loaded.title == sb.title == "my_film"
    assert (sb.format.aspect, sb.format.fps) == ("landscape", 24)
    assert (sb.defaults.steps, sb.defaults.seed, sb.defaults.language) == (50, 0, "zh")
    assert sb.characters == {}


def test_image_resolves_relative_to_the_storyboard(project):
    (project / "stills").mkdir()
    (project / "sub").mkdir()
    Image.new("RGB", (32, 18), (200, 100, 0)).save(project / "stills" / "key.png")
    (project / "sub" / "sb.yaml").write_text(
        "scenes:\n  - id: s\n    shots:\n      - {id: a, duration: 3, image: ../stills/key.png}\n", encoding="utf-8"
    )
    loaded = load_storyboard("sub/sb.yaml")
    assert loaded.storyboard.shot("a").image == (project / "stills" / "key.png").resolve()


def test_spans_of_a_shot_in_caption_order(project):
    loaded = load(
        "cast: cast.yaml\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 6\n"
        "        action: 收音机里传出~~晚上好~~，她抬头\n"
        "        dialogue:\n"
        "          - {who: lin, line: 你听见了吗？}\n"
        "          - {who: chen, line: 听见了。}\n"
        "          - {who: lin, line: 走吧。}\n"
    )
    spans = loaded.storyboard.shot("a").spans()
    assert [(s.text, s.speaker, s.source, s.index) for s in spans] == [
        ("晚上好", None, "action", 0),
        ("你听见了吗？", "lin", "dialogue", 1),
        ("听见了。", "chen", "dialogue", 2),
        ("走吧。", "lin", "dialogue", 3),
    ]
    assert loaded.storyboard.shot("a").speakers() == ["lin", "chen"]


def test_speaking_seconds_counts_chinese_characters_and_english_words():
    assert speaking_seconds("你好，世界。") == pytest.approx(4 / 5)
    assert speaking_seconds("Hello there, old friend!") == pytest.approx(4 / 3)
    assert speaking_seconds("我们 meet again") == pytest.approx(2 / 5 + 2 / 3)
    assert speaking_seconds("！？……") == 0


def test_dialogue_too_long_for_the_shot_is_a_warning(project):
    loaded = load(
        "cast: cast.yaml\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: rush\n"
        "        duration: 2\n"
        "        dialogue:\n"
        "          - {who: lin, line: 我们已经很多很多年没有见面了吧。}\n",
        name="fast.yaml",
    )
    assert [str(w) for w in loaded.warnings] == [
        "fast.yaml:7:9: warning: scenes[0].shots[0].dialogue: the speech of shot 'rush' takes about 3.0 s "
        "to say, but the shot lasts 2 s (lengthen the shot or shorten the lines)"
    ]


def test_english_dialogue_too_long_is_a_warning(project):
    loaded = load(
        "cast: cast.yaml\n"
        "defaults: {language: en}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: talk\n"
        "        duration: 2\n"
        "        dialogue:\n"
        "          - {who: chen, line: I have been waiting here for you since the morning.}\n",
        name="en.yaml",
    )
    (warning,) = loaded.warnings
    assert str(warning).startswith("en.yaml:8:9: warning: scenes[0].shots[0].dialogue: the speech of shot "
                                   "'talk' takes about 3.3 s")


def test_dialogue_that_fits_gives_no_warning(project):
    loaded = load(
        "cast: cast.yaml\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: calm\n"
        "        duration: 3\n"
        "        dialogue:\n"
        "          - {who: lin, line: 好久不见。}\n"
    )
    assert loaded.warnings == []


def test_a_speaker_without_a_voice_is_a_warning(project):
    loaded = load(
        "characters:\n"
        "  mei: {name: 美}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: hello\n"
        "        duration: 3\n"
        "        dialogue:\n"
        "          - {who: mei, line: 你好。}\n",
        name="mute.yaml",
    )
    assert [str(w) for w in loaded.warnings] == [
        "mute.yaml:9:19: warning: scenes[0].shots[0].dialogue[0].who: 'mei' has no voice: the line is spoken in "
        "no one's voice (give mei a `voice:` WAV in the cast)"
    ]


def test_a_cast_that_is_not_a_path_is_one_error(project):
    found = diagnostics_of(
        "cast: 5\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 3\n"
        "        dialogue:\n"
        "          - {who: lin, line: 你好。}\n"
    )
    assert len(found) == 1 and found[0].startswith("bad.yaml:1:7: cast: expected a file path"), found


def test_a_dissolve_into_the_first_shot_is_a_warning(project):
    loaded = load(
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 3, transition: dissolve, audio_lead_s: 0.5}\n"
        "      - {id: b, duration: 3, transition: dissolve}\n",
        name="first.yaml",
    )
    assert [str(w).split(": ", 2)[1:] for w in loaded.warnings] == [
        ["warning", "scenes[0].shots[0].transition: the first shot has no shot before it to dissolve from "
                    "(use fade-in, or remove the transition)"],
        ["warning", "scenes[0].shots[0].audio_lead_s: the first shot has no shot before it to overlap its sound "
                    "with (remove audio_lead_s)"],
    ]
