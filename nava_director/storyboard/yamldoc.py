"""A YAML file read with positions, so that every problem can be reported at its line:col.

ruamel.yaml's round-trip loader keeps each mapping's and sequence's node positions; the
loader and the casting reader ask a :class:`YamlDoc` for the place of a field path such as
``("scenes", 0, "shots", 1, "duration")`` and turn problems into :class:`Diagnostic` s.
The round-trip loader is safe: it builds only plain data, never objects a tag names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Sequence, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from nava_director.errors import Diagnostic, InputError

Loc = Sequence[str | int]
M = TypeVar("M", bound=BaseModel)


def where(loc: Loc) -> str:
    """``("scenes", 0, "shots", 1, "id")`` -> ``scenes[0].shots[1].id``."""
    out = ""
    for seg in loc:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out or "(top)"


def plain(node: Any) -> Any:
    """The round-trip tree as plain dicts, lists, str, int, float (what pydantic validates)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (int, float, bool)) else k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    for kind in (bool, int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


@dataclass
class YamlDoc:
    label: str  # the path as the user gave it (or joined from it): what diagnostics print
    root: Any
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> "YamlDoc":
        """Parse ``path``; a syntax error becomes a diagnostic and an empty document."""
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{label}: no such file", hint="check the path") from None
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{label}: cannot read: {e}", hint="save it as UTF-8 text") from None
        try:
            root = YAML(typ="rt").load(text)
        except MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            problem = (e.problem or str(e)).strip()
            doc = cls(label, None)
            doc.diagnostics.append(
                Diagnostic(label, mark.line + 1, mark.column + 1, "yaml", problem,
                           e.context.strip() if e.context else "fix the YAML syntax")
            )
            return doc
        doc = cls(label, root)
        if not isinstance(root, dict):
            doc.error((), "the file must be a YAML mapping (key: value lines)",
                      "see storyboards/demo.yaml for the shape")
            doc.root = None
        return doc

    @property
    def ok(self) -> bool:
        return self.root is not None

    def locate(self, loc: Loc, *, key: bool = False) -> tuple[tuple[int, int], list[str | int]]:
        """1-based (line, col) of the node at ``loc`` and the part of ``loc`` found in the file.

        Segments that name nothing in the data (pydantic's union tags) are skipped; a missing
        last key points at its parent. ``key=True`` points at the key rather than its value.
        """
        node, pos, found = self.root, (0, 0), []
        for i, seg in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, dict) and seg in node:
                pos = node.lc.key(seg) if key and last else node.lc.value(seg)
                node = node[seg]
            elif isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
                pos = node.lc.item(seg)
                node = node[seg]
            else:
                if last and isinstance(node, dict):
                    found.append(seg)  # a missing key
                continue  # a union tag pydantic adds to its loc
            found.append(seg)
        return (pos[0] + 1, pos[1] + 1), found

    def diagnostic(self, loc: Loc, what: str, fix: str | None = None, *, key: bool = False,
                   severity: str = "error") -> Diagnostic:
        (line, col), found = self.locate(loc, key=key)
        return Diagnostic(self.label, line, col, where(found), what, fix, severity)

    def error(self, loc: Loc, what: str, fix: str | None = None, *, key: bool = False) -> None:
        self.diagnostics.append(self.diagnostic(loc, what, fix, key=key))

    def validate(self, model: type[M]) -> M | None:
        """The document as ``model``, or None with every schema error added as a diagnostic."""
        if not self.ok:
            return None
        try:
            return model.model_validate(plain(self.root))
        except ValidationError as e:
            for err in e.errors(include_url=False):
                what, fix = explain(err, model)
                self.error(err["loc"], what, fix, key=err["type"] == "extra_forbidden")
            return None

    def warn(self, loc: Loc, what: str, fix: str | None = None, *, key: bool = False) -> None:
        self.diagnostics.append(self.diagnostic(loc, what, fix, key=key, severity="warning"))


# -- pydantic's errors, said as a storyboard author would want to read them ----------------


def _candidates(tp: Any) -> list[Any]:
    """The alternatives of a (possibly Optional / Annotated / Union) annotation."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _candidates(get_args(tp)[0])
    if origin in (Union, UnionType):
        return [c for arg in get_args(tp) for c in _candidates(arg)]
    return [tp]


def _step(tp: Any, seg: str | int) -> Any:
    for cand in _candidates(tp):
        if isinstance(cand, type) and issubclass(cand, BaseModel) and seg in cand.model_fields:
            return cand.model_fields[seg].annotation
        if get_origin(cand) is list and isinstance(seg, int):
            return get_args(cand)[0]
        if get_origin(cand) is dict:
            return get_args(cand)[1]
    return tp  # a union tag: stay


def _type_at(model: type[BaseModel], loc: Loc) -> Any:
    tp: Any = model
    for seg in loc:
        tp = _step(tp, seg)
    return tp


def _known_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    models = [c for c in _candidates(_type_at(model, loc)) if isinstance(c, type) and issubclass(c, BaseModel)]
    return list(models[0].model_fields) if models else []


def explain(error: ErrorDetails, model: type[BaseModel]) -> tuple[str, str | None]:
    """(what, fix) for one pydantic error."""
    kind, loc, value = error["type"], error["loc"], error.get("input")
    name = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(name), known, n=1)
        fix = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        return f"unknown key {name!r}", fix
    if kind == "missing":
        return f"missing required key {name!r}", f"add `{name}:`"
    if kind == "literal_error":
        choices = error["ctx"]["expected"].replace("'", "")
        return f"{value!r} is not allowed", f"use one of: {choices}"
    if kind == "string_type":
        return f"expected text, got {value!r}", "write text here (quote it if it looks like a number)"
    if kind in ("int_type", "int_parsing", "int_from_float", "float_type", "float_parsing"):
        return f"expected a number, got {value!r}", "write a plain number, e.g. 6"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(error["ctx"].values()))
        relation = {"greater_than": "more than", "greater_than_equal": "at least",
                    "less_than": "less than", "less_than_equal": "at most"}[kind]
        return f"{value!r} is out of range", f"use a number {relation} {bound}"
    if kind == "path_type":
        return f"expected a file path, got {value!r}", "write a path relative to this file, e.g. voices/lin.wav"
    if kind == "too_short":
        return "must not be empty", "add at least one item"
    if kind == "list_type":
        return f"expected a list, got {value!r}", "write its items as `- ...` lines"
    if kind in ("dict_type", "model_type"):
        keys = ", ".join(_known_keys(model, loc))
        if str in _candidates(_type_at(model, loc[:-1])):  # e.g. camera: free text or directions
            return f"expected text or a mapping, got {value!r}", f"write free text, or `key: value` lines ({keys})"
        return f"expected a mapping, got {value!r}", f"write `key: value` lines ({keys})"
    return error["msg"], None
