"""A YAML file read with positions, so that every problem can be reported at its line:col.

ruamel.yaml's round-trip loader keeps each mapping's and sequence's node positions; the
loader and the casting reader ask a :class:`YamlDoc` for the place of a field path such as
``("scenes", 0, "shots", 1, "duration")`` and turn problems into :class:`Diagnostic` s.
The round-trip loader is safe: it builds only plain data, never objects a tag names.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Sequence, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.reader import ReaderError

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
    if isinstance(node, TaggedScalar):  # `!!str 5`, the one tag :func:`screen` lets through
        return str(node.value)
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
        if path.exists() and not path.is_file():  # a FIFO or /dev/zero would be read forever
            raise InputError(f"{label}: {missing_file(path)}", hint="name the storyboard's YAML file")
        if path.is_file() and path.stat().st_size > MAX_BYTES:
            raise InputError(f"{label}: {path.stat().st_size / 1e6:.0f} MB is too large for a storyboard",
                             hint=f"a storyboard is a text file of at most {MAX_BYTES // 1_000_000} MB")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{label}: no such file", hint="check the path") from None
        except UnicodeDecodeError as e:
            line, col = e.object[: e.start].count(b"\n") + 1, e.start - (e.object.rfind(b"\n", 0, e.start) + 1) + 1
            raise InputError(f"{label}:{line}:{col}: not UTF-8 text (byte {e.object[e.start]:#04x})",
                             hint="save it as UTF-8 text") from None
        except OSError as e:
            raise InputError(f"{label}: cannot read: {e.strerror or e}", hint="check the path") from None
        try:
            refused = screen(text)
            if refused:
                return cls(label, None, [Diagnostic(label, *refused)])
            root = YAML(typ="rt").load(text)
        except ReaderError as e:  # a control character or NUL: ruamel gives its offset only
            line, col = _line_col(text, e.position)
            return cls(label, None, [Diagnostic(
                label, line, col, "yaml", f"control character U+{e.character:04X} in the file",
                "delete it; it was probably pasted in with the text")])
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


# -- what is refused before the tree is built ------------------------------------------------

MAX_BYTES = 10_000_000  # a storyboard of 10 MB is far beyond any film
MAX_DEPTH = 64  # mappings and lists inside each other; a storyboard needs about 8
ALIAS_BUDGET = 10_000  # nodes that aliases may repeat in all; a billion-laughs file needs millions
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PLAIN_TAGS = ("tag:yaml.org,2002:str",)  # `!!str 5` is quoting; every other tag is refused


def _line_col(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def screen(text: str) -> tuple[int, int, str, str, str] | None:
    """(line, col, where, what, fix) of the first thing refused in ``text``, read as events
    before any tree is built: nesting deeper than :data:`MAX_DEPTH`, aliases that repeat more
    than :data:`ALIAS_BUDGET` nodes in all, a tag such as ``!include``, a control character
    inside a quoted text (``"\\0"``). Syntax errors raise as ruamel raises them."""
    sizes: dict[str, int] = {}  # anchor -> nodes under it, aliases counted expanded
    stack: list[list] = []  # open collections: [anchor, nodes so far]
    repeated = 0
    for event in YAML(typ="rt").parse(text):
        kind = type(event).__name__
        mark = event.start_mark
        at = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        tag = getattr(event, "tag", None)
        if tag is not None and str(tag) not in _PLAIN_TAGS and kind != "AliasEvent":
            return (*at, "yaml", f"the tag {tag} is not supported",
                    "write the value itself; a storyboard cannot include other files")
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_DEPTH:
                return (*at, "yaml", f"nested more than {MAX_DEPTH} levels deep", "flatten the document")
            continue
        if kind in ("MappingEndEvent", "SequenceEndEvent"):
            anchor, size = stack.pop()
        elif kind == "ScalarEvent":
            bad = _CONTROL.search(event.value)
            if bad:
                return (*at, "yaml", f"control character U+{ord(bad.group()):04X} in {event.value[:30]!r}",
                        "delete it; only line breaks and tabs may appear in text")
            anchor, size = event.anchor, 1
        elif kind == "AliasEvent":
            anchor, size = None, sizes.get(event.anchor, 1)
            repeated += size
            if repeated > ALIAS_BUDGET:
                return (*at, "yaml", f"aliases (*{event.anchor}) repeat more than {ALIAS_BUDGET} values",
                        "write the values out, or use fewer aliases")
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if stack:
            stack[-1][1] += size
    return None


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


def missing_file(path: Path) -> str:
    """Why a file a storyboard names is not there to read: completes "image X ..."."""
    if not path.exists():
        return "not found"
    return "is a folder, not a file" if path.is_dir() else "is not a regular file"
