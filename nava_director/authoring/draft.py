"""A storyboard being authored, and how it is written out as YAML a person edits.

A :class:`Draft` is plain data in the storyboard's shape (``title``, ``scenes`` with their
``shots``, the characters) plus what a person should see beside it as comments: voices
still to cast, a dialogue line's extension such as (V.O.), a shot its writer was unsure
of. ``write`` and ``import`` both end here; the file is then loaded with the storyboard's
own loader, so it is checked by exactly what ``validate`` checks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from nava_director.errors import InputError

VOICE_TO_CAST = "to cast: a WAV of 1–30 s of clean speech, path relative to this file"


@dataclass
class Draft:
    title: str | None = None
    language: str = "zh"
    characters: dict[str, dict] = field(default_factory=dict)  # id -> {name, look, voice}
    scenes: list[dict] = field(default_factory=list)  # the storyboard's scenes, plain data
    cast: str | None = None  # a casting file (relative to the storyboard) instead of `characters`
    notes: dict[tuple[str, int], str] = field(default_factory=dict)  # (shot id, line index) -> comment
    doubts: dict[str, str] = field(default_factory=dict)  # shot id -> what its writer was unsure of

    def shot_ids(self) -> list[str]:
        return [shot["id"] for scene in self.scenes for shot in scene["shots"]]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096  # one line per value: long Chinese lines are not folded
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.allow_unicode = True
    return yaml


def _flow(data: dict) -> CommentedMap:
    node = CommentedMap(data)
    node.fa.set_flow_style()
    return node


def _characters(characters: dict[str, dict]) -> CommentedMap:
    out = CommentedMap()
    for cid, character in characters.items():
        entry = CommentedMap((k, v) for k, v in character.items() if k != "voice" and v is not None)
        entry["voice"] = character.get("voice")
        if character.get("voice") is None:
            entry.yaml_add_eol_comment(VOICE_TO_CAST, "voice")
        out[cid] = entry
    return out


def storyboard_yaml(draft: Draft, header: str) -> str:
    """The draft as a storyboard YAML document, ``header`` as its opening comment."""
    root = CommentedMap()
    if draft.title:
        root["title"] = draft.title
    root["defaults"] = _flow({"language": draft.language})
    if draft.cast:
        root["cast"] = draft.cast
    elif draft.characters:
        root["characters"] = _characters(draft.characters)
    scenes = CommentedSeq()
    for scene in draft.scenes:
        node = CommentedMap((k, v) for k, v in scene.items() if k != "shots" and v is not None)
        shots = CommentedSeq()
        for shot in scene["shots"]:
            entry = CommentedMap()
            for key, value in shot.items():
                if key == "camera" and isinstance(value, dict):
                    value = _flow(value)
                elif key == "dialogue":
                    lines = CommentedSeq(_flow(line) for line in value)
                    for k in range(len(value)):
                        note = draft.notes.get((shot["id"], k))
                        if note:
                            lines.yaml_add_eol_comment(note, k)
                    value = lines
                entry[key] = value
            if shot["id"] in draft.doubts:
                entry.yaml_set_start_comment(f"uncertain: {draft.doubts[shot['id']]}", indent=6)
            shots.append(entry)
        node["shots"] = shots
        scenes.append(node)
    root["scenes"] = scenes
    root.yaml_set_start_comment(header)
    out = io.StringIO()
    _yaml().dump(root, out)
    return out.getvalue()


def casting_yaml(characters: dict[str, dict], header: str) -> str:
    """A casting file for ``characters``; voices not given are left empty with a comment."""
    root = CommentedMap(characters=_characters(characters))
    if header:
        root.yaml_set_start_comment(header)
    out = io.StringIO()
    _yaml().dump(root, out)
    return out.getvalue()


def refuse_to_replace(path: Path, force: bool) -> None:
    """An :class:`InputError` when ``path`` exists and ``force`` was not given: a storyboard
    may hold a person's edits."""
    if path.exists() and not force:
        raise InputError(f"{path} exists: it would be replaced", hint="give another path, or --force to replace it")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)
