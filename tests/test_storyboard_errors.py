"""The broken-storyboard corpus: each mistake reported at its exact PATH:LINE:COL.

Every case is a whole storyboard (so the line numbers can be read off the text) and the
start of the one diagnostic it must produce: ``PATH:LINE:COL: WHERE: WHAT``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from storyboard_helpers import diagnostics_of, make_project

from nava_director.errors import StoryboardError
from nava_director.storyboard.load import load_storyboard


@pytest.fixture(autouse=True)
def project(tmp_path, monkeypatch):
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "still.png").write_bytes(b"not a png at all")
    return tmp_path


CASES = {
    "yaml syntax error": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: [4\n",
        "bad.yaml:6:1: yaml: expected ',' or ']'",
    ),
    "yaml duplicate key": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4, duration: 5}\n",
        "bad.yaml:4:30: yaml: found duplicate key \"duration\"",
    ),
    "not a mapping": (
        "- id: a\n",
        "bad.yaml:1:1: (top): the file must be a YAML mapping",
    ),
    "missing scenes": (
        "title: nothing\n",
        "bad.yaml:1:1: scenes: missing required key 'scenes'",
    ),
    "unknown top-level key": (
        "title: t\n"
        "colour: red\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:2:1: colour: unknown key 'colour' (known keys: title, format,",
    ),
    "unknown shot key, with a suggestion": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        acton: 她笑了\n",
        "bad.yaml:6:9: scenes[0].shots[0].acton: unknown key 'acton' (did you mean 'action'?)",
    ),
    "unknown camera key": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        camera: {size: wide, zoom: in}\n",
        "bad.yaml:6:30: scenes[0].shots[0].camera.zoom: unknown key 'zoom'",
    ),
    "camera word outside the vocabulary": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        camera: {move: zoomin}\n",
        "bad.yaml:6:24: scenes[0].shots[0].camera.move: 'zoomin' is not allowed (use one of: static,",
    ),
    "camera neither text nor mapping": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        camera: 5\n",
        "bad.yaml:6:17: scenes[0].shots[0].camera: expected text or a mapping, got 5 (write free text, or `key: value` lines (size, angle, move, speed))",
    ),
    "duration not a number": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: long\n",
        "bad.yaml:5:19: scenes[0].shots[0].duration: expected a number, got 'long'",
    ),
    "missing duration": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n",
        "bad.yaml:4:9: scenes[0].shots[0].duration: missing required key 'duration'",
    ),
    "id not text": (
        "scenes:\n"
        "  - id: [s]\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:2:9: scenes[0].id: expected text, got ['s']",
    ),
    "duplicate shot id": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n"
        "  - id: t\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:7:14: scenes[1].shots[0].id: shot id 'a' is already used on line 4",
    ),
    "shot id that is not a plain name": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: ../escape, duration: 4}\n",
        "bad.yaml:4:14: scenes[0].shots[0].id: shot id '../escape' is not a plain name",
    ),
    "duplicate scene id": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: b, duration: 4}\n",
        "bad.yaml:5:9: scenes[1].id: scene id 's' is already used on line 2",
    ),
    "continue_from an unknown shot": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: arrival, duration: 4}\n"
        "      - {id: b, duration: 4, continue_from: arival}\n",
        "bad.yaml:5:45: scenes[0].shots[1].continue_from: no shot 'arival' to continue from (did you mean 'arrival'?)",
    ),
    "continue_from itself": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4, continue_from: a}\n",
        "bad.yaml:4:45: scenes[0].shots[0].continue_from: shot 'a' continues from itself",
    ),
    "continue_from cycle": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4, continue_from: c}\n"
        "      - {id: b, duration: 4, continue_from: a}\n"
        "      - {id: c, duration: 4, continue_from: b}\n",
        "bad.yaml:4:45: scenes[0].shots[0].continue_from: continue_from forms a cycle: a -> c -> b -> a",
    ),
    "image missing": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        image: stills/none.png\n",
        "bad.yaml:6:16: scenes[0].shots[0].image: image stills/none.png not found",
    ),
    "image not an image": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        image: still.png\n",
        "bad.yaml:6:16: scenes[0].shots[0].image: still.png is not a readable image",
    ),
    "image with continue_from": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n"
        "      - id: b\n"
        "        duration: 4\n"
        "        continue_from: a\n"
        "        image: frame.png\n",
        "bad.yaml:8:16: scenes[0].shots[1].image: `image` and `continue_from` both give the first frame",
    ),
    "who not in the cast": (
        "cast: cast.yaml\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        dialogue:\n"
        "          - {who: lim, line: 你好。}\n",
        "bad.yaml:8:19: scenes[0].shots[0].dialogue[0].who: 'lim' is not in the cast (did you mean 'lin'?)",
    ),
    "three speakers in a shot": (
        "characters: {a: {name: A}, b: {name: B}, c: {name: C}}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: talk\n"
        "        duration: 6\n"
        "        dialogue:\n"
        "          - {who: a, line: 一}\n"
        "          - {who: b, line: 二}\n"
        "          - {who: a, line: 三}\n"
        "          - {who: c, line: 四}\n",
        "bad.yaml:7:9: scenes[0].shots[0].dialogue: shot 'talk' has 3 speakers (a, b, c); NAVA voices at most 2",
    ),
    "duration longer than 10 s": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 12\n",
        "bad.yaml:5:19: scenes[0].shots[0].duration: 12 s is longer than the engine's 10 s limit (use 1–10 s, or split the shot)",
    ),
    "duration shorter than 1 s": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 0.5\n",
        "bad.yaml:5:19: scenes[0].shots[0].duration: 0.5 s is shorter than 1 s",
    ),
    "duration negative": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: -3\n",
        "bad.yaml:5:19: scenes[0].shots[0].duration: -3 s is shorter than 1 s",
    ),
    "fps not 24, 25 or 30": (
        "format: {aspect: landscape, fps: 60}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:1:34: format.fps: 60 is not allowed (use one of: 24, 25 or 30)",
    ),
    "aspect not landscape, portrait or square": (
        "format:\n"
        "  aspect: widescreen\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:2:11: format.aspect: 'widescreen' is not allowed (use one of: landscape, portrait or square)",
    ),
    "language unknown": (
        "defaults: {language: fr}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:1:22: defaults.language: 'fr' is not allowed (use one of: zh or en)",
    ),
    "unbalanced ~~ in action": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        action: 她说~~你好\n",
        "bad.yaml:6:17: scenes[0].shots[0].action: unmatched '~~' in action: speech spans must be closed",
    ),
    "unbalanced <S> in action": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        action: 她说<S>你好<E>，又说<S>再见\n",
        "bad.yaml:6:17: scenes[0].shots[0].action: unmatched '<S>' in action",
    ),
    "empty span in action": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        action: 她张了张嘴<S> <E>\n",
        "bad.yaml:6:17: scenes[0].shots[0].action: empty speech span in action",
    ),
    "stray <E> in setting": (
        "scenes:\n"
        "  - id: s\n"
        "    setting: 海边<E>\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:3:14: scenes[0].setting: unmatched '<E>' in setting",
    ),
    "speech span in setting": (
        "scenes:\n"
        "  - id: s\n"
        "    setting: 海边，~~你好~~\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:3:14: scenes[0].setting: speech span in `setting`: only `action` and `dialogue` are spoken (move",
    ),
    "speech span in sound": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        sound: 广播里说<S>列车进站<E>\n",
        "bad.yaml:6:16: scenes[0].shots[0].sound: speech span in `sound`",
    ),
    "speech span in camera": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        camera: 推近 ~~看这里~~\n",
        "bad.yaml:6:17: scenes[0].shots[0].camera: speech span in `camera`",
    ),
    "span markup inside a dialogue line": (
        "cast: cast.yaml\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        dialogue:\n"
        "          - {who: lin, line: ~~你好~~}\n",
        "bad.yaml:8:30: scenes[0].shots[0].dialogue[0].line: a dialogue line is already spoken",
    ),
    "empty dialogue line": (
        "cast: cast.yaml\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        dialogue:\n"
        "          - who: lin\n"
        "            line: '  '\n",
        "bad.yaml:9:19: scenes[0].shots[0].dialogue[0].line: empty dialogue line",
    ),
    "dialogue line missing": (
        "cast: cast.yaml\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        dialogue:\n"
        "          - {who: lin}\n",
        "bad.yaml:8:13: scenes[0].shots[0].dialogue[0].line: missing required key 'line'",
    ),
    "empty scene": (
        "scenes:\n"
        "  - id: s\n"
        "    shots: []\n",
        "bad.yaml:3:12: scenes[0].shots: scene 's' has no shots",
    ),
    "scene without shots": (
        "scenes:\n"
        "  - id: s\n"
        "    setting: 海边\n",
        "bad.yaml:2:5: scenes[0].shots: scene 's' has no shots",
    ),
    "no scenes": (
        "scenes: []\n",
        "bad.yaml:1:9: scenes: must not be empty",
    ),
    "dialogue without any cast": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - id: a\n"
        "        duration: 4\n"
        "        dialogue:\n"
        "          - {who: lin, line: 你好。}\n",
        "bad.yaml:6:9: scenes[0].shots[0].dialogue: shot 'a' has dialogue but the storyboard has no cast",
    ),
    "casting file missing": (
        "cast: casting.yaml\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:1:7: cast: casting file casting.yaml not found",
    ),
    "cast and characters both": (
        "cast: cast.yaml\n"
        "characters: {lin: {name: 林然}}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:2:1: characters: both `cast:` and `characters:` are given",
    ),
    "inline voice missing": (
        "characters:\n"
        "  lin:\n"
        "    voice: voices/nobody.wav\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:3:12: characters.lin.voice: voice file voices/nobody.wav not found",
    ),
    "duration written as text": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: \"12\"}\n",
        "bad.yaml:4:27: scenes[0].shots[0].duration: expected a number, got '12' (write a plain number",
    ),
    "duration written as a boolean": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: true}\n",
        "bad.yaml:4:27: scenes[0].shots[0].duration: expected a number, got True",
    ),
    "seed with a fraction": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4, seed: 2.5}\n",
        "bad.yaml:4:36: scenes[0].shots[0].seed: expected a number, got 2.5",
    ),
    "steps out of range": (
        "defaults: {steps: 0}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:1:19: defaults.steps: 0 is out of range (use a number at least 1)",
    ),
    "negative transition length": (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4, transition_s: -1}\n",
        "bad.yaml:4:44: scenes[0].shots[0].transition_s: -1 is out of range (use a number at least 0",
    ),
    "cast that is not a path": (
        "cast: 5\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4}\n",
        "bad.yaml:1:7: cast: expected a file path, got 5 (write a path relative to this file",
    ),
}


@pytest.mark.parametrize("text,expected", CASES.values(), ids=CASES.keys())
def test_broken_storyboard_is_reported_at_its_place(text, expected):
    found = diagnostics_of(text)
    assert any(line.startswith(expected) for line in found), "\n".join(found)


def test_every_error_of_a_run_is_reported_at_once():
    text = (
        "format: {fps: 23}\n"
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 12}\n"
        "      - {id: a, duration: 4, continue_from: z}\n"
        "      - {id: b, duration: x}\n"
    )
    found = diagnostics_of(text)
    assert [line.split(": ")[0] for line in found] == [
        "bad.yaml:1:15", "bad.yaml:5:27", "bad.yaml:6:14", "bad.yaml:6:45", "bad.yaml:7:27",
    ]


def test_path_is_printed_as_given(project):
    (project / "sub").mkdir()
    make_project(project / "sub")
    found = diagnostics_of("scenes:\n  - id: s\n    shots:\n      - {id: a, duration: 11}\n", "sub/bad.yaml")
    assert found[0].startswith("sub/bad.yaml:4:27: scenes[0].shots[0].duration: 11 s is longer")


def test_storyboard_error_exit_code_is_2():
    Path("bad.yaml").write_text("scenes: []\n")
    with pytest.raises(StoryboardError) as info:
        load_storyboard("bad.yaml")
    assert info.value.exit_code == 2


def test_an_image_of_another_aspect_is_a_warning_with_the_crop(project):
    from PIL import Image

    Image.new("RGB", (1000, 1000)).save(project / "square.png")
    Image.new("RGB", (640, 352)).save(project / "wide.png")
    text = (
        "scenes:\n"
        "  - id: s\n"
        "    shots:\n"
        "      - {id: a, duration: 4, image: square.png}\n"
        "      - {id: b, duration: 4, image: wide.png}\n"
    )
    [warning] = diagnostics_of(text, "aspect.yaml")
    assert warning.startswith("aspect.yaml:4:37: warning: scenes[0].shots[0].image: the image is 1000x1000 (aspect 1.00), "
                              "the storyboard renders 1280x704 (aspect 1.82): its centre 1000x550 is kept, "
                              "225 px top and bottom cut off")  # fmt: skip
