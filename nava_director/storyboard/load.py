"""Loading a storyboard: YAML with positions, casting, the semantic checks, the schema.

:func:`load_storyboard` reads the file, checks every rule (``storyboard/rules.py``) and either
returns a :class:`LoadedStoryboard` (its warnings attached) or raises one
:class:`StoryboardError` carrying every diagnostic of the run, each at its ``LINE:COL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from nava_director.errors import Diagnostic, StoryboardError
from nava_director.storyboard import rules
from nava_director.storyboard.casting import read_casting, resolve_characters
from nava_director.storyboard.model import Character, Storyboard
from nava_director.storyboard.yamldoc import YamlDoc, missing_file, plain


@dataclass(frozen=True)
class LoadedStoryboard:
    """A valid storyboard: voices and images resolved to absolute paths, warnings kept."""

    path: Path  # as the user gave it (diagnostics print it so)
    storyboard: Storyboard  # characters filled from the cast; images absolute; title set
    warnings: list[Diagnostic]

    @property
    def characters(self) -> dict[str, Character]:
        return self.storyboard.characters

    @property
    def title(self) -> str:
        return self.storyboard.title or self.path.stem


# -- casting --------------------------------------------------------------------------------


def _load_cast(doc: YamlDoc, base: Path) -> tuple[dict[str, Character], set[str] | None, list[YamlDoc]]:
    """(characters with checked voices, the cast's ids or None if unknowable, casting docs read)."""
    root = doc.root
    if "cast" in root and "characters" in root:
        doc.error(("characters",), "both `cast:` and `characters:` are given",
                  "keep one: a casting file, or the inline map", key=True)
    cast = root.get("cast")
    if "cast" in root and not isinstance(cast, str):
        return {}, None, []  # the schema reports it; the cast is unknowable
    if isinstance(cast, str):
        path = base / Path(cast).expanduser()
        if not path.is_file():
            doc.error(("cast",), f"casting file {path} {missing_file(path)}", "fix the path; it is relative to the storyboard")
            return {}, None, []
        characters, cast_doc = read_casting(path)
        listed = cast_doc.root.get("characters") if cast_doc.ok else None
        ids = {str(k) for k in listed} if isinstance(listed, dict) else None
        return characters, ids, [cast_doc]
    inline = root.get("characters")
    if not isinstance(inline, dict):
        return {}, set(), []
    try:
        characters = TypeAdapter(dict[str, Character]).validate_python(plain(inline))
    except ValidationError:  # the schema reports it; still check `who` against the ids
        return {}, {str(k) for k in inline}, []
    return resolve_characters(doc, ("characters",), characters, base), set(characters), []


# -- the loader -----------------------------------------------------------------------------


def _resolved(model: Storyboard, path: Path, characters: dict[str, Character]) -> Storyboard:
    base = path.parent
    scenes = [
        scene.model_copy(update={"shots": [
            shot.model_copy(update={"image": (base / shot.image.expanduser()).resolve()}) if shot.image else shot
            for shot in scene.shots
        ]})
        for scene in model.scenes
    ]
    cast = (base / model.cast).resolve() if model.cast else None
    return model.model_copy(update={
        "title": model.title or path.stem, "characters": characters, "scenes": scenes, "cast": cast,
    })


def _ordered(semantic: list[Diagnostic], schema: list[Diagnostic], first_path: str) -> list[Diagnostic]:
    """All diagnostics, the storyboard's first, by position; where the semantic checks and the
    schema flag the same field, only the semantic (more specific) message is kept."""
    flagged = {(d.path, d.line, d.col, d.where) for d in semantic}
    out = semantic + [d for d in schema if (d.path, d.line, d.col, d.where) not in flagged]
    return sorted(out, key=lambda d: (d.path != first_path, d.path, d.line, d.col))


def load_storyboard(path: str | Path) -> LoadedStoryboard:
    """Load and check ``path``; raise :class:`StoryboardError` with all errors at once."""
    path = Path(path)
    doc = YamlDoc.read(path)
    if not doc.ok:
        raise StoryboardError(doc.diagnostics)
    characters, cast_ids, cast_docs = _load_cast(doc, path.parent)
    shot_ids = rules.unique_ids(doc)
    rules.scenes_not_empty(doc)
    rules.durations(doc)
    rules.continuations(doc, shot_ids)
    rules.images(doc, path.parent)
    rules.dialogue(doc, cast_ids)
    rules.first_shot_joins(doc)
    rules.voiceless_speakers(doc, {cid for cid, c in characters.items() if c.voice is None})
    rules.spans(doc)
    rules.speaking_rate(doc)
    for cast_doc in cast_docs:
        if cast_doc.ok:
            rules.spans(cast_doc)  # a character's name and look are free text too
    semantic = doc.diagnostics + [d for cast_doc in cast_docs for d in cast_doc.diagnostics]

    schema = YamlDoc(doc.label, doc.root)
    model = schema.validate(Storyboard)
    if model is not None and not any(d.severity == "error" for d in semantic + schema.diagnostics):
        rules.joins(schema, model)  # needs every shot's numbers known good
    diagnostics = _ordered(semantic, schema.diagnostics, doc.label)
    if model is None or any(d.severity == "error" for d in diagnostics):
        raise StoryboardError(diagnostics)
    return LoadedStoryboard(path, _resolved(model, path, characters), diagnostics)
