"""A small Fountain screenplay parser that keeps every element's line in the file.

Fountain (fountain.io) is plain text: scene headings, action, character cues with their
dialogue, transitions, and a few marks (``.`` ``!`` ``@`` ``>`` ``~`` force an element).
This parser reads the subset a storyboard needs and keeps, for every element, the line it
starts on. The boneyard (``/* … */``) and notes (``[[ … ]]``) are cut out of the text
first, but each kept line keeps its number in the file, and what was cut is kept as
:class:`Skipped` elements, so that an importer can warn about it at its line.

The maintained parsers on PyPI do not serve: ``fountain`` (0.1.3) is unmaintained since 2016
and keeps no line numbers, neither does ``jouvence``; ``fountain-py`` (0.3.0) keeps line
numbers but forces a scene heading only before an ASCII letter (``.海边 - 黄昏`` becomes
action) and drops a boneyard of several lines without a trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Union

SCENE_RE = re.compile(r"^(?:INT\.?/EXT|I/E|INT|EXT|EST)[. ]", re.IGNORECASE)
SCENE_NUMBER_RE = re.compile(r"\s*#([\w.\-]+)#\s*$")
TRANSITION_RE = re.compile(r"^[^a-z]*TO:$")
FADE_RE = re.compile(r"^(?:FADE IN:|FADE OUT\.|FADE TO BLACK\.)$")
CENTERED_RE = re.compile(r"^>\s*(.*?)\s*<$")
PAGE_BREAK_RE = re.compile(r"^={3,}\s*$")
EXTENSION_RE = re.compile(r"\(([^()]*)\)")
TITLE_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*(.*)$")
EMPHASIS_RE = [
    re.compile(r"(?<!\\)\*\*\*(?=\S)(.+?)(?<=\S)(?<!\\)\*\*\*"),
    re.compile(r"(?<!\\)\*\*(?=\S)(.+?)(?<=\S)(?<!\\)\*\*"),
    re.compile(r"(?<!\\)\*(?=\S)(.+?)(?<=\S)(?<!\\)\*"),
    re.compile(r"(?<!\\)_(?=\S)(.+?)(?<=\S)(?<!\\)_"),
]


@dataclass(frozen=True)
class Line:
    """One line of the script with its 1-based number in the file."""

    number: int
    text: str


@dataclass(frozen=True)
class SceneHeading:
    line: int
    text: str  # without the forcing '.' and the scene number
    number: str | None = None  # #12A#
    forced: bool = False


@dataclass(frozen=True)
class Action:
    line: int
    text: str  # lines joined with "\n"
    forced: bool = False


@dataclass(frozen=True)
class Speech:
    """A parenthetical, a line of dialogue or of lyrics inside a dialogue block."""

    line: int
    kind: Literal["parenthetical", "dialogue", "lyrics"]
    text: str  # a parenthetical keeps its parentheses


@dataclass(frozen=True)
class Dialogue:
    line: int  # the character cue's
    character: str  # without '@', the extensions and '^'
    extensions: tuple[str, ...] = ()  # "V.O.", "O.S.", "CONT'D"
    parts: tuple[Speech, ...] = ()
    forced: bool = False
    dual: bool = False  # the cue ended in '^': spoken at the same time as the block before


@dataclass(frozen=True)
class Transition:
    line: int
    text: str  # "CUT TO:", "FADE IN:"…
    forced: bool = False


@dataclass(frozen=True)
class Centered:
    line: int
    text: str


@dataclass(frozen=True)
class Lyrics:
    line: int
    text: str  # its lines joined with "\n"


@dataclass(frozen=True)
class PageBreak:
    line: int


@dataclass(frozen=True)
class Skipped:
    """Something the script keeps out of the film: a boneyard, a note, a section, a synopsis."""

    line: int
    kind: Literal["boneyard", "note", "section", "synopsis"]
    text: str


@dataclass(frozen=True)
class Problem:
    line: int
    col: int
    what: str
    fix: str


Element = Union[SceneHeading, Action, Dialogue, Transition, Centered, Lyrics, PageBreak, Skipped]


@dataclass
class Screenplay:
    title_page: dict[str, tuple[str, int]] = field(default_factory=dict)  # lowercased key -> (value, line)
    elements: list[Element] = field(default_factory=list)  # in file order
    problems: list[Problem] = field(default_factory=list)  # the script cannot be read as meant

    @property
    def title(self) -> str | None:
        entry = self.title_page.get("title")
        return entry[0] if entry else None


def plain_text(text: str) -> str:
    """``text`` without Fountain emphasis (``*italic*``, ``**bold**``, ``_underline_``) or escapes."""
    for pattern in EMPHASIS_RE:
        text = pattern.sub(r"\1", text)
    return re.sub(r"\\([*_\\])", r"\1", text)


# -- cutting the boneyard and the notes out, keeping line numbers ---------------------------

CUTS = (("/*", "*/", "boneyard"), ("[[", "]]", "note"))


def _cut(text: str) -> tuple[list[Line], list[Skipped], list[Problem]]:
    """The script's lines with every ``/* … */`` and ``[[ … ]]`` cut out, each at its number.

    A line that held only what was cut is gone (it is not a blank line, which would end a
    paragraph); a line that lost part of its text keeps the rest.
    """
    lines: list[Line] = []
    skipped: list[Skipped] = []
    problems: list[Problem] = []
    current: list[str] = []
    touched, number, i = False, 1, 0

    def finish() -> None:
        content = "".join(current).rstrip("\r")
        if not (touched and not content.strip()):
            lines.append(Line(number, content))

    while i < len(text):
        cut = next(((o, c, k) for o, c, k in CUTS if text.startswith(o, i)), None)
        if cut is not None:
            opening, closing, kind = cut
            end = text.find(closing, i + len(opening))
            if end < 0:
                col = i - (text.rfind("\n", 0, i) + 1) + 1
                problems.append(Problem(number, col, f"{opening} is never closed, so the rest of the script "
                                        f"is left out", f"close it with {closing}"))
                end = len(text)
            skipped.append(Skipped(number, kind, text[i + len(opening):end].strip()))  # type: ignore[arg-type]
            touched = True
            for ch in text[i:end]:
                if ch == "\n":
                    finish()
                    current, number = [], number + 1
            i = end + len(closing)
            continue
        ch = text[i]
        if ch == "\n":
            finish()
            current, touched, number = [], False, number + 1
        else:
            current.append(ch)
        i += 1
    finish()
    return lines, skipped, problems


# -- the title page ------------------------------------------------------------------------

TITLE_KEYS = {"title", "credit", "author", "authors", "source", "draft date", "date", "contact",
              "copyright", "notes", "revision"}


def _is_blank(line: Line) -> bool:
    return not line.text.strip() and len(line.text) < 2  # two spaces: a blank line kept inside a block


def _title_page(lines: list[Line]) -> tuple[dict[str, tuple[str, int]], int]:
    """The title page's ``key -> (value, line)`` and the index of the first line after it."""
    first = TITLE_KEY_RE.match(lines[0].text) if lines else None
    if first is None or not (first.group(1).lower() in TITLE_KEYS or not first.group(1).isupper()):
        return {}, 0
    page: dict[str, tuple[str, int]] = {}
    key: str | None = None
    i = 0
    while i < len(lines) and not _is_blank(lines[i]):
        line = lines[i]
        match = TITLE_KEY_RE.match(line.text)
        if match and not line.text[:1].isspace():
            key = match.group(1).strip().lower()
            page[key] = (match.group(2).strip(), line.number)
        elif key is not None:  # an indented value line
            value, at = page[key]
            page[key] = ("\n".join(v for v in (value, line.text.strip()) if v), at)
        i += 1
    return {k: (plain_text(v), n) for k, (v, n) in page.items()}, i


# -- the body ------------------------------------------------------------------------------


def _paragraphs(lines: list[Line]) -> list[list[Line]]:
    out: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        if _is_blank(line):
            if current:
                out.append(current)
            current = []
        else:
            current.append(line)
    if current:
        out.append(current)
    return out


def _cue(text: str) -> tuple[str, tuple[str, ...], bool, bool] | None:
    """(name, extensions, forced, dual) when ``text`` is a character cue, else None."""
    text = text.strip()
    forced = text.startswith("@")
    if forced:
        text = text[1:]
    dual = text.endswith("^")
    if dual:
        text = text[:-1].rstrip()
    extensions = tuple(e.strip() for e in EXTENSION_RE.findall(text))
    name = EXTENSION_RE.sub("", text).strip()
    if not name:
        return None
    if not forced:
        cased = [c for c in name if c.isalpha()]
        if not any(c.isupper() for c in cased) or any(c.islower() for c in cased):
            return None
    return name, extensions, forced, dual


def _heading(text: str) -> SceneHeading | None:
    forced = text.startswith(".") and not text.startswith("..") and len(text) > 1 and not text[1].isspace()
    if not forced and not SCENE_RE.match(text):
        return None
    body = text[1:] if forced else text
    number = SCENE_NUMBER_RE.search(body)
    if number:
        body = body[:number.start()]
    return body.strip(), (number.group(1) if number else None), forced  # type: ignore[return-value]


def _dialogue(paragraph: list[Line], cue: tuple[str, tuple[str, ...], bool, bool]) -> Dialogue:
    name, extensions, forced, dual = cue
    parts: list[Speech] = []
    for line in paragraph[1:]:
        text = line.text.strip()
        if not text:
            continue
        if text.startswith("(") and text.endswith(")"):
            parts.append(Speech(line.number, "parenthetical", text))
        elif text.startswith("~"):
            parts.append(Speech(line.number, "lyrics", plain_text(text[1:].strip())))
        else:
            parts.append(Speech(line.number, "dialogue", plain_text(text)))
    return Dialogue(paragraph[0].number, plain_text(name), extensions, tuple(parts), forced, dual)


def _elements(paragraph: list[Line]) -> list[Element]:
    first = paragraph[0]
    text = first.text.strip()
    single = len(paragraph) == 1
    if text.startswith("!"):
        body = "\n".join([text[1:].strip(), *(ln.text.strip() for ln in paragraph[1:])])
        return [Action(first.number, plain_text(body), forced=True)]
    heading = _heading(text)
    if heading is not None:
        name, number, forced = heading
        scene = SceneHeading(first.number, plain_text(name), number, forced)
        return [scene] if single else [scene, *_elements(paragraph[1:])]
    if text.startswith("#") or (text.startswith("=") and not PAGE_BREAK_RE.match(text)):
        kind = "section" if text.startswith("#") else "synopsis"
        return [Skipped(ln.number, kind, ln.text.strip().lstrip("#=").strip())  # type: ignore[arg-type]
                for ln in paragraph]
    if PAGE_BREAK_RE.match(text):
        return [PageBreak(first.number), *_elements(paragraph[1:])] if not single else [PageBreak(first.number)]
    if all(CENTERED_RE.match(ln.text.strip()) for ln in paragraph):
        return [Centered(ln.number, plain_text(CENTERED_RE.match(ln.text.strip()).group(1))) for ln in paragraph]
    if single and text.startswith(">"):
        return [Transition(first.number, text[1:].strip(), forced=True)]
    if single and (TRANSITION_RE.match(text) or FADE_RE.match(text)):
        return [Transition(first.number, text)]
    if all(ln.text.strip().startswith("~") for ln in paragraph):
        return [Lyrics(first.number, "\n".join(plain_text(ln.text.strip()[1:].strip()) for ln in paragraph))]
    cue = _cue(text) if not single else None
    if cue is not None:
        return [_dialogue(paragraph, cue)]
    return [Action(first.number, plain_text("\n".join(ln.text.strip() for ln in paragraph)))]


def parse(text: str) -> Screenplay:
    """The screenplay in ``text`` (a whole ``.fountain`` file)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines, skipped, problems = _cut(text)
    title_page, start = _title_page(lines)
    elements: list[Element] = list(skipped)
    for paragraph in _paragraphs(lines[start:]):
        elements.extend(_elements(paragraph))
    elements.sort(key=lambda e: e.line)  # stable: elements of one line keep their order
    return Screenplay(title_page, elements, problems)
