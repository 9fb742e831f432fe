"""Hostile YAML: each refused with one diagnostic at its line, quickly, without a traceback."""

from __future__ import annotations

import time

import pytest
from storyboard_helpers import diagnostics_of, make_project

from nava_director.storyboard.casting import read_casting
from nava_director.storyboard.yamldoc import ALIAS_BUDGET, MAX_DEPTH


def _laughs(levels: int, width: int = 10, mapping: bool = False) -> str:
    lines = ["title: laughs", 'l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    for i in range(1, levels):
        if mapping:
            items = ", ".join(f"k{j}: *l{i - 1}" for j in range(width))
            lines.append(f"l{i}: &l{i} {{{items}}}")
        else:
            lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\nscenes: []\n"


HOSTILE = {
    "list bomb": (_laughs(9), "yaml: aliases (*"),
    "mapping bomb": (_laughs(7, mapping=True), "yaml: aliases (*"),
    "merge-key bomb": ("a: &a {x: 1, y: 2}\n" + "".join(
        f"b{i}: &b{i} {{<<: *{'a' if i == 0 else f'b{i - 1}'}, z{i}: [{', '.join(['*a'] * 50)}]}}\n"
        for i in range(200)) + "scenes: []\n", "yaml: aliases (*"),
    "deep flow lists": ("title: x\nscenes: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than"),
    "deep block mappings": ("title: x\nscenes:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 200)),
                            "nested more than"),
    "NUL in a plain value": ("title: a\x00b\nscenes: []\n", "control character U+0000"),
    "bell in a plain value": ("scenes: []\ntitle: ring\x07\n", "control character U+0007"),
    "escape in a double-quoted value": ('scenes: []\ntitle: "a\\x1b[31mred"\n', "control character U+001B"),
    "NUL escape in a double-quoted value": ('scenes: []\ntitle: "a\\0"\n', "control character U+0000"),
    "!include": ("title: x\ncast: !include cast.yaml\nscenes: []\n", "the tag !include is not supported"),
    "python object tag": ("title: !!python/object:os.system ls\nscenes: []\n", "is not supported"),
    "tag on a mapping": ("title: x\nformat: !fmt {aspect: landscape}\nscenes: []\n", "the tag !fmt"),
}

LINE = {"list bomb": 5, "mapping bomb": 5, "deep flow lists": 2, "deep block mappings": 34,
        "NUL in a plain value": 1, "bell in a plain value": 2, "escape in a double-quoted value": 2,
        "NUL escape in a double-quoted value": 2, "!include": 2, "python object tag": 1, "tag on a mapping": 2}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_yaml_is_one_diagnostic_at_its_line(tmp_path, monkeypatch, name):
    monkeypatch.chdir(make_project(tmp_path))
    text, said = HOSTILE[name]
    start = time.perf_counter()
    lines = diagnostics_of(text)
    assert time.perf_counter() - start < 5
    assert len(lines) == 1, lines
    assert said in lines[0], lines
    assert lines[0].startswith("bad.yaml:")
    if name in LINE:
        assert lines[0].startswith(f"bad.yaml:{LINE[name]}:"), lines


def test_aliases_within_the_budget_and_plain_nesting_still_load(tmp_path, monkeypatch):
    monkeypatch.chdir(make_project(tmp_path))
    shot = "{id: s%d, duration: 2, action: 走路, camera: *cam}"
    text = ("title: ok\ncast: cast.yaml\nscenes:\n  - id: a\n    shots:\n"
            "      - {id: s0, duration: 2, action: 走路, camera: &cam {size: wide, move: static}}\n"
            + "".join(f"      - {shot % i}\n" for i in range(1, 30))
            + "  - id: b\n    setting: !!str 5\n    shots: [{id: t, duration: 2, action: 坐下}]\n")
    assert diagnostics_of(text) == []
    assert ALIAS_BUDGET >= 1000 and MAX_DEPTH >= 16


def test_a_casting_file_is_screened_too(tmp_path):
    make_project(tmp_path, cast="characters:\n  lin: {name: 林然, voice: !include voices/lin.wav}\n")
    characters, doc = read_casting(tmp_path / "cast.yaml")
    assert characters == {} and [d.line for d in doc.diagnostics] == [2]
    assert "the tag !include is not supported" in str(doc.diagnostics[0])
