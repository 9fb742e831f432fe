"""`import`: Fountain screenplays to storyboards, each compared with the storyboard it must give.

``tests/data/fountain/NAME.fountain`` must give ``NAME.yaml`` and ``NAME.cast.yaml`` beside
it, byte for byte, with the warnings listed here at their lines in the script; the files
written are then loaded by the storyboard's own loader (what `validate` runs).
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from nava_director.authoring import fountain as fn
from nava_director.authoring.screenplay import import_fountain
from nava_director.errors import InputError, StoryboardError
from nava_director.storyboard.load import load_storyboard

DATA = ROOT / "tests" / "data" / "fountain"

# what each script must warn about: (line in the script, what was left out or changed)
WARNINGS = {
    "beach_zh": [(12, "boneyard: left out: 删掉的一场戏： 林然给陈默打电话， 没有人接。"),
                 (21, "note: left out: 这里要不要停顿？")],
    "diner_en": [(6, "section: left out: Act One"), (8, "synopsis: left out: Two old friends meet again."),
                 (33, "dual dialogue: lines spoken at the same time are not supported"),
                 (48, "transition: 'BURN TO:' is not a transition the cut makes: a cut")],
}


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_a_script_gives_its_storyboard_and_casting_skeleton(name, tmp_path):
    script = DATA / f"{name}.fountain"
    imported = import_fountain(script, tmp_path / f"{name}.yaml")

    assert imported.storyboard.read_text(encoding="utf-8") == (DATA / f"{name}.yaml").read_text(encoding="utf-8")
    assert imported.casting == tmp_path / f"{name}.cast.yaml"
    assert imported.casting.read_text(encoding="utf-8") == (DATA / f"{name}.cast.yaml").read_text(encoding="utf-8")
    from_script = [w for w in imported.warnings if w.path == str(script)]
    expected = WARNINGS[name]
    assert len(from_script) == len(expected)
    assert [(w.line, f"{w.where}: {w.what}"[: len(text)]) for w, (_, text) in zip(from_script, expected)] == expected
    assert all(w.severity == "warning" for w in imported.warnings)

    loaded = load_storyboard(imported.storyboard)  # exactly what `validate` runs: no errors
    speakers = {d.who for _, shot in loaded.storyboard.shots() for d in shot.dialogue}
    assert speakers == set(loaded.characters)  # every speaking character is in the casting skeleton


def test_the_chinese_script_maps_every_element():
    board = load_storyboard(DATA / "beach_zh.yaml").storyboard
    assert board.title == "海边的重逢" and board.defaults.language == "zh"
    beach, seawall = board.scenes
    assert (beach.id, seawall.id) == ("海边-黄昏", "海堤-夜")  # forced headings (".海边 - 黄昏")
    assert beach.setting == "海边，黄昏。夕阳下的海滩，海浪一层层拍上沙滩。"  # heading + first action
    first, long_a, long_b = beach.shots
    assert first.transition == "fade-in"  # FADE IN:
    assert long_b.continue_from == long_a.id and long_a.duration == 10  # a 19 s paragraph split in two
    assert [(d.who, d.line) for d in long_b.dialogue] == [("陈默", "林然。"), ("林然", "你终于来了。")]
    assert long_b.action.endswith("林然（轻声）。")  # the parenthetical, in the action
    assert "打电话" not in (DATA / "beach_zh.yaml").read_text(encoding="utf-8")  # the boneyard
    assert "  # V.O." in (DATA / "beach_zh.yaml").read_text(encoding="utf-8")  # the extension, a note
    (walk,) = seawall.shots
    assert walk.transition == "fade-out"  # FADE OUT. ends the shot before it
    assert all(1 <= shot.duration <= 10 for _, shot in board.shots())


def test_the_english_script_maps_every_element():
    board = load_storyboard(DATA / "diner_en.yaml").storyboard
    assert board.title == "Night Diner" and board.defaults.language == "en"
    assert [s.id for s in board.scenes] == ["diner-night", "parking-lot-night", "diner-day"]
    booth, coffee = board.scenes[0].shots
    assert booth.speakers() == ["tom", "maya"] and coffee.speakers() == ["waitress"]  # a third speaker: a new shot
    lot = board.scenes[1].shots
    assert [d.line for d in lot[0].dialogue] == ["I kept every letter you wrote.", "I never sent the last one."]
    assert lot[1].action == "On-screen text: THREE YEARS LATER"  # centered text
    assert lot[2].action == "Singing: ~~Under the neon, under the rain / We sang the same old song again~~"
    assert lot[3].action == "THE LIGHTS GO OUT."  # forced action, across the page break
    assert [shot.speakers() for shot in lot[3:5]] == [["maya"], ["maya"]]  # a 13 s line over two shots
    assert lot[3].dialogue[0].line.endswith("started again,") and lot[4].dialogue[0].line.startswith("because")


def test_line_numbers_survive_the_boneyard_and_notes():
    script = fn.parse("INT. A - DAY\n\nOne /* cut\nacross\nlines */ two.\n[[a note\nover two]]\nThree.\n\n"
                      "BOB\nHi [[aside]] there.\n\nEXT. B - NIGHT\n")
    kinds = [(type(e).__name__, e.line) for e in script.elements]
    assert kinds == [("SceneHeading", 1), ("Skipped", 3), ("Action", 3), ("Skipped", 6),
                     ("Dialogue", 10), ("Skipped", 11), ("SceneHeading", 13)]
    action = script.elements[2]
    assert action.text == "One\ntwo.\nThree."  # the lines emptied by the cut do not end the paragraph
    assert script.elements[4].parts[0].line == 11


def test_forced_elements_and_cues():
    script = fn.parse(".海边\n\n@林然\n你好。\n\n林然\n你好。\n\n!INT. NOT A HEADING\n\n>SMASH TO:\n\n> 完 <\n\n"
                      "McCLANE\nYippee.\n\n@McCLANE ^\nYippee.\n")
    e = script.elements
    assert e[0] == fn.SceneHeading(1, "海边", None, True)
    assert isinstance(e[1], fn.Dialogue) and e[1].character == "林然" and e[1].forced
    assert isinstance(e[2], fn.Action)  # a Chinese name without '@' is action: it has no upper case
    assert e[3] == fn.Action(9, "INT. NOT A HEADING", forced=True)
    assert e[4] == fn.Transition(11, "SMASH TO:", forced=True)
    assert e[5] == fn.Centered(13, "完")
    assert isinstance(e[6], fn.Action)  # mixed case is not a cue unless forced
    assert isinstance(e[7], fn.Dialogue) and e[7].dual and e[7].character == "McCLANE"


def test_an_unclosed_boneyard_is_an_error_at_its_line(tmp_path):
    script = tmp_path / "broken.fountain"
    script.write_text("INT. ROOM - DAY\n\nShe waits.\n\n  /* and then\n\nBOB\nHi.\n", encoding="utf-8")
    with pytest.raises(StoryboardError) as caught:
        import_fountain(script, tmp_path / "out.yaml")
    (error,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert str(error) == f"{script}:5:3: boneyard: /* is never closed, so the rest of the script is left out " \
                         "(close it with */)"
    assert not (tmp_path / "out.yaml").exists()


def test_an_existing_casting_file_is_kept_and_gets_the_missing_characters(tmp_path):
    casting = tmp_path / "beach_zh.cast.yaml"
    casting.write_text("# cast by hand\ncharacters:\n  林然: {name: 林然, look: 短发}\n", encoding="utf-8")
    import_fountain(DATA / "beach_zh.fountain", tmp_path / "beach_zh.yaml")
    with pytest.raises(InputError, match="beach_zh.yaml exists: it would be replaced"):
        import_fountain(DATA / "beach_zh.fountain", tmp_path / "beach_zh.yaml")  # it may hold a person's edits
    import_fountain(DATA / "beach_zh.fountain", tmp_path / "beach_zh.yaml", force=True)
    text = casting.read_text(encoding="utf-8")
    assert text.startswith("# cast by hand\ncharacters:\n  林然: {name: 林然, look: 短发}\n")
    assert "  陈默:\n    name: 陈默\n" in text
    assert set(load_storyboard(tmp_path / "beach_zh.yaml").characters) == {"林然", "陈默"}


@pytest.mark.slow
def test_an_imported_storyboard_renders_with_the_animatic(tmp_path):
    from storyboard_project import SIZE, cli

    from nava_director.cut import read_clip

    imported = import_fountain(DATA / "beach_zh.fountain", tmp_path / "beach.yaml")
    done = cli("render", str(imported.storyboard), "--engine", "animatic", "--rewriter", "template",
               "--size", SIZE, "--json")
    report = json.loads(done.stdout)
    assert report["failed"] == [] and len(report["rendered"]) == 4
    film = read_clip(report["film"]["path"])
    seconds = sum(shot.duration for _, shot in imported.loaded.storyboard.shots())
    assert abs(film.frames.shape[0] / 24 - seconds) < 1.0  # 27 s of shots, one of them continued


def test_the_command_writes_the_storyboard_or_names_the_line_to_fix(tmp_path):
    from storyboard_project import cli

    done = cli("import", str(DATA / "diner_en.fountain"), str(tmp_path / "diner.yaml"), "--json")
    summary = json.loads(done.stdout)
    assert (summary["scenes"], summary["shots"], summary["characters"]) == (3, 8, ["maya", "tom", "waitress"])
    assert (tmp_path / "diner.cast.yaml").is_file()
    assert "diner_en.fountain:33:1: warning: dual dialogue:" in done.stderr

    broken = tmp_path / "broken.fountain"
    broken.write_text("INT. ROOM - DAY\n\n[[ never closed\n", encoding="utf-8")
    failed = cli("import", str(broken), str(tmp_path / "out.yaml"), check=False)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.splitlines()[-1] == "1 error(s) in the screenplay: nothing was written"
    assert f"{broken}:3:1: note: [[ is never closed, so the rest of the script is left out (close it with ]])" \
        in failed.stderr
