"""A parsed Fountain screenplay as a storyboard draft (``nava-director import``).

The mapping, element by element:

- a scene heading starts a scene: its id from the place, its setting from the heading and
  the scene's first action;
- an action paragraph is a shot, as long as it takes to read (the storyboard's own speaking
  estimate, ``speaking_seconds``); one longer than the engine's 10 s is split at sentences
  into shots that continue from each other;
- a character cue and its dialogue join the shot before while it has room (at most two
  speakers, 10 s), else start a shot; a parenthetical goes into the action, an extension
  such as (V.O.) becomes a comment beside the line; a line too long for one shot is split
  at sentences over several;
- transitions: DISSOLVE TO: and FADE IN: lead into the next shot, FADE OUT. / FADE TO
  BLACK. end the shot before, CUT TO: is the default; another is a cut, with a warning;
- centered text becomes an on-screen-text shot, lyrics a sung shot; page breaks are
  nothing; boneyard, notes, sections and synopses are left out with a warning each; dual
  dialogue is kept, one line after the other, with a warning;
- the title page's title is the title; every speaking character is a cast entry to fill in.

Every warning and error points at its line in the ``.fountain`` file.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from nava_director.authoring import fountain as fn
from nava_director.authoring.draft import Draft, casting_yaml, refuse_to_replace, storyboard_yaml, write_text
from nava_director.storyboard.rules import CJK_RE, WORD_RE, speaking_seconds
from nava_director.errors import Diagnostic, InputError, StoryboardError
from nava_director.storyboard.load import LoadedStoryboard, load_storyboard
from nava_director.storyboard.model import MAX_SECONDS
from nava_director.storyboard.yamldoc import YamlDoc

MIN_SHOT_SECONDS = 2  # a shot shorter than this is hard to read on screen
HEADING_PREFIX_RE = re.compile(r"^(?:INT\.?/EXT|I/E|INT|EXT|EST)\.?\s*", re.IGNORECASE)
PLACES = {"zh": {"INT": "室内", "EXT": "室外", "EST": "室外", "I/E": "室内外", "INT./EXT": "室内外",
                 "INT/EXT": "室内外"},
          "en": {"INT": "Interior", "EXT": "Exterior", "EST": "Exterior", "I/E": "Interior and exterior",
                 "INT./EXT": "Interior and exterior", "INT/EXT": "Interior and exterior"}}
SENTENCE_RE = re.compile(r"(?<=[。！？!?…])|(?<=[.;；])\s+")
CLAUSE_RE = re.compile(r"(?<=[，,、；;：:])")
SPLIT_TRANSITIONS = {"DISSOLVE TO:": "dissolve", "FADE IN:": "fade-in"}
ENDING_TRANSITIONS = {"FADE OUT.", "FADE TO BLACK.", "FADE OUT:", "FADE TO BLACK:"}
WORDS = {"zh": {"text": "画面中央出现字幕：{}", "sung": "歌声：~~{}~~", "join": ""},
         "en": {"text": "On-screen text: {}", "sung": "Singing: ~~{}~~", "join": " "}}


def language_of(screenplay: fn.Screenplay) -> str:
    """zh when the script's words are mostly Chinese characters, else en."""
    text = " ".join(getattr(e, "text", "") or "" for e in screenplay.elements if not isinstance(e, fn.Skipped))
    text += " ".join(p.text for e in screenplay.elements if isinstance(e, fn.Dialogue) for p in e.parts)
    cjk = len(CJK_RE.findall(text))
    return "zh" if cjk and cjk >= len(WORD_RE.findall(CJK_RE.sub(" ", text))) else "en"


def slug(text: str) -> str:
    """A plain id from free text: lower case, words joined by '-' (Chinese characters kept)."""
    return re.sub(r"[^\w]+", "-", text.lower()).replace("_", "-").strip("-.")


def _unique(name: str, taken: set[str], fallback: str) -> str:
    name = name or fallback
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _spoken(text: str, language: str) -> str:
    """Dialogue or action lines joined as one line of text."""
    parts = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    return WORDS[language]["join"].join(parts) if language == "zh" else " ".join(parts)


def _pieces(text: str, limit: float) -> list[str]:
    """``text`` cut at sentence ends (then clause marks) into pieces each said within ``limit`` s."""
    out: list[str] = []
    for splitter in (SENTENCE_RE, CLAUSE_RE):
        units = [u for u in splitter.split(text) if u and u.strip()]
        if len(units) > 1:
            current = ""
            for unit in units:
                tight = not current or not current[-1].isascii() or not unit.strip()[:1].isascii()
                joined = current + unit.strip() if tight else f"{current} {unit.strip()}"
                if current and speaking_seconds(joined) > limit:
                    out.append(current.strip())
                    current = unit.strip()
                else:
                    current = joined
            out.append(current.strip())
            if all(speaking_seconds(p) <= limit for p in out):
                return out
            out = []
    return [text.strip()]


@dataclass
class _Shot:
    scene: dict
    data: dict
    line: int  # where in the script it starts
    action: list[str] = field(default_factory=list)
    dialogue: list[tuple[str, str, tuple[str, ...], int]] = field(default_factory=list)  # who, line, extensions, at

    def seconds(self) -> float:
        return speaking_seconds(" ".join(self.action)) + sum(speaking_seconds(d[1]) for d in self.dialogue)

    def speakers(self) -> list[str]:
        return list(dict.fromkeys(d[0] for d in self.dialogue))


class _Importer:
    def __init__(self, screenplay: fn.Screenplay, label: str):
        self.sp, self.label = screenplay, label
        self.language = language_of(screenplay)
        self.draft = Draft(title=screenplay.title, language=self.language)
        self.scene: dict | None = None
        self.scene_needs_setting = False
        self.shots: list[_Shot] = []
        self.scene_ids: set[str] = set()
        self.shot_ids: set[str] = set()
        self.pending_transition: tuple[str, int] | None = None
        self.warnings: list[Diagnostic] = []

    # -- diagnostics ----------------------------------------------------------------------

    def warn(self, line: int, where: str, what: str, fix: str | None = None) -> None:
        self.warnings.append(Diagnostic(self.label, line, 1, where, what, fix, "warning"))

    # -- scenes and shots -----------------------------------------------------------------

    def start_scene(self, heading: fn.SceneHeading | None, line: int) -> None:
        if heading is None:
            name, setting = "opening", None
        else:
            place = HEADING_PREFIX_RE.sub("", heading.text) if not heading.forced else heading.text
            prefix = heading.text[: len(heading.text) - len(place)].strip().rstrip(".").upper()
            parts = [p.strip() for p in re.split(r"\s+[-–—]\s+|\s*[—–]\s*", place) if p.strip()]
            parts = [p.capitalize() if p.isascii() and p.isupper() else p for p in parts]
            where = [PLACES[self.language].get(prefix)] if prefix else []
            sep = "，" if self.language == "zh" else ", "
            setting = sep.join([w for w in where if w] + parts) or None
            name = slug(place)
        self.scene = {"id": _unique(name, self.scene_ids, f"scene-{len(self.scene_ids) + 1}"),
                      "setting": setting, "shots": []}
        self.draft.scenes.append(self.scene)
        self.scene_needs_setting = True

    def new_shot(self, line: int) -> _Shot:
        if self.scene is None:
            self.start_scene(None, line)
        assert self.scene is not None
        ident = _unique(f"{self.scene['id']}-{len(self.scene['shots']) + 1}", self.shot_ids, "shot")
        shot = _Shot(self.scene, {"id": ident}, line)
        self.scene["shots"].append(shot.data)
        self.shots.append(shot)
        if self.pending_transition is not None:
            kind, at = self.pending_transition
            if kind == "dissolve" and len(self.shots) == 1:
                self.warn(at, "transition", "DISSOLVE TO: before the first shot: there is nothing to dissolve from",
                          "it fades in instead")
                kind = "fade-in"
            shot.data["transition"] = kind
            self.pending_transition = None
        return shot

    def current(self) -> _Shot | None:
        return self.shots[-1] if self.shots and self.scene is not None and self.shots[-1].scene is self.scene else None

    # -- elements -------------------------------------------------------------------------

    def action(self, text: str, line: int) -> None:
        text = _spoken(text, self.language)
        if self.scene is not None and self.scene_needs_setting:
            sep = "。" if self.language == "zh" else ". "
            setting = self.scene["setting"]
            self.scene["setting"] = f"{setting.rstrip('。.')}{sep}{text}" if setting else text
            self.scene_needs_setting = False
        previous: str | None = None
        for piece in _pieces(text, MAX_SECONDS):
            if speaking_seconds(piece) > MAX_SECONDS:
                self.warn(line, "action", f"this action takes about {speaking_seconds(piece):.0f} s to read, "
                          f"more than one shot's {MAX_SECONDS} s", "split the paragraph into shorter sentences")
            shot = self.new_shot(line)
            shot.action.append(piece)
            if previous is not None:
                shot.data["continue_from"] = previous
            previous = shot.data["id"]

    def speech(self, who: str, text: str, extensions: tuple[str, ...], line: int) -> None:
        shot = self.current()
        for piece in _pieces(text, MAX_SECONDS):
            seconds = speaking_seconds(piece)
            if seconds > MAX_SECONDS:
                self.warn(line, "dialogue", f"this line takes about {seconds:.0f} s to say, more than one "
                          f"shot's {MAX_SECONDS} s", "split it into shorter sentences")
            fits = shot is not None and (who in shot.speakers() or len(shot.speakers()) < 2) \
                and shot.seconds() + seconds <= MAX_SECONDS
            if not fits:
                shot = self.new_shot(line)
            assert shot is not None
            shot.dialogue.append((who, piece, extensions, line))

    def parenthetical(self, name: str, text: str, line: int) -> None:
        shot = self.current() or self.new_shot(line)
        if self.language == "zh":
            shot.action.append(f"{name}{text.replace('(', '（').replace(')', '）')}。")
        else:
            shot.action.append(f"{name} {text}.")

    def character(self, name: str) -> str:
        ident = slug(name) or name
        self.draft.characters.setdefault(ident, {"name": name.title() if name.isupper() else name})
        return ident

    def dialogue(self, block: fn.Dialogue) -> None:
        if block.dual:
            self.warn(block.line, "dual dialogue", "lines spoken at the same time are not supported: "
                      "they are kept one after the other", "none needed; edit the shot if the order matters")
        who = self.character(block.character)
        name = self.draft.characters[who]["name"]
        notes = tuple(e for e in block.extensions if e.upper().replace("’", "'") not in ("CONT'D", "CONT’D"))
        said: list[str] = []
        said_at = block.line
        for part in block.parts:
            if part.kind == "parenthetical":
                if said:
                    self.speech(who, _spoken("\n".join(said), self.language), notes, said_at)
                    said = []
                self.parenthetical(name, part.text, part.line)
            else:
                if not said:
                    said_at = part.line
                said.append(part.text)
        if said:
            self.speech(who, _spoken("\n".join(said), self.language), notes, said_at)
        elif not block.parts:
            self.warn(block.line, "dialogue", f"{block.character} says nothing", "write the line under the name")

    def transition(self, element: fn.Transition) -> None:
        text = " ".join(element.text.upper().split())
        if text in SPLIT_TRANSITIONS:
            self.pending_transition = (SPLIT_TRANSITIONS[text], element.line)
        elif text in ENDING_TRANSITIONS:
            if not self.shots:
                self.warn(element.line, "transition", f"{element.text} before any shot", "it is left out")
            else:
                self.shots[-1].data["transition"] = "fade-out"
        elif "CUT" not in text:
            self.warn(element.line, "transition", f"{element.text!r} is not a transition the cut makes: a cut",
                      "use CUT TO:, DISSOLVE TO:, FADE IN: or FADE OUT.")

    def run(self) -> Draft:
        words = WORDS[self.language]
        for e in self.sp.elements:
            if not isinstance(e, (fn.Action, fn.Skipped, fn.PageBreak)):
                self.scene_needs_setting = False  # the setting takes the action right under the heading
            if isinstance(e, fn.SceneHeading):
                self.start_scene(e, e.line)
            elif isinstance(e, fn.Action):
                self.action(e.text, e.line)
            elif isinstance(e, fn.Dialogue):
                self.dialogue(e)
            elif isinstance(e, fn.Transition):
                self.transition(e)
            elif isinstance(e, fn.Centered):
                self.new_shot(e.line).action.append(words["text"].format(e.text))
            elif isinstance(e, fn.Lyrics):
                sung = ("，" if self.language == "zh" else " / ").join(e.text.split("\n"))
                for piece in _pieces(sung, MAX_SECONDS):
                    self.new_shot(e.line).action.append(words["sung"].format(piece))
            elif isinstance(e, fn.Skipped):
                self.warn(e.line, e.kind, f"left out: {_preview(e.text)}", "none needed: a storyboard has no "
                          f"place for a {e.kind}" if e.kind != "boneyard" else "none needed: it is commented out")
        self.draft.scenes = [s for s in self.draft.scenes if s["shots"]]  # a heading with nothing under it
        for shot in self.shots:
            self.finish(shot)
        return self.draft

    def finish(self, shot: _Shot) -> None:
        data = shot.data
        data["duration"] = min(MAX_SECONDS, max(MIN_SHOT_SECONDS, math.ceil(shot.seconds())))
        if shot.action:
            data["action"] = (WORDS[self.language]["join"]).join(shot.action)
        if shot.dialogue:
            data["dialogue"] = [{"who": who, "line": line} for who, line, _, _ in shot.dialogue]
            for k, (_, _, notes, _) in enumerate(shot.dialogue):
                if notes:
                    self.draft.notes[(data["id"], k)] = ", ".join(notes)
        order = ["id", "continue_from", "duration", "transition", "action", "dialogue"]
        shot.data.update({k: data.pop(k) for k in order if k in data})


def _preview(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def import_screenplay(screenplay: fn.Screenplay, label: str) -> tuple[Draft, list[Diagnostic], list[Diagnostic]]:
    """(the draft, warnings, errors) for a parsed screenplay read from ``label``."""
    errors = [Diagnostic(label, p.line, p.col, "boneyard" if "/*" in p.what else "note", p.what, p.fix)
              for p in screenplay.problems]
    importer = _Importer(screenplay, label)
    draft = importer.run()
    if not draft.scenes and not errors:
        errors.append(Diagnostic(label, 1, 1, "screenplay", "no scene, action or dialogue to make a shot of",
                                 "write a scene heading (INT. PLACE - DAY) and some action"))
    return draft, importer.warnings, errors


class ScreenplayError(StoryboardError):
    """Every error of a screenplay, each at its line in the ``.fountain`` file."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics)
        errors = sum(d.severity == "error" for d in diagnostics)
        self.message = f"{errors} error(s) in the screenplay: nothing was written"


@dataclass(frozen=True)
class Imported:
    storyboard: Path
    casting: Path
    loaded: LoadedStoryboard  # the storyboard as `validate` reads it
    warnings: list[Diagnostic]  # the script's, then the storyboard's


def _merge_casting(path: Path, characters: dict[str, dict], header: str) -> None:
    """Write the casting skeleton, or add the characters it lacks to an existing one (kept as it is)."""
    if not path.exists():
        write_text(path, casting_yaml(characters, header))
        return
    doc = YamlDoc.read(path)
    listed = doc.root.get("characters") if doc.ok else None
    if not isinstance(listed, dict):
        raise InputError(f"{path}: not a casting file (no `characters:` map)",
                         hint="move it away, or name another with --cast")
    missing = {cid: c for cid, c in characters.items() if cid not in listed}
    if missing:
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
        added = casting_yaml(missing, "").split("characters:\n", 1)[1]
        write_text(path, text + added)


def import_fountain(script: Path, out: Path, casting: Path | None = None, *, force: bool = False) -> Imported:
    """Write the storyboard ``out`` (and its casting file) from the Fountain ``script``.

    Raises :class:`ScreenplayError` with the script's errors, each at its line; the storyboard
    written is loaded as ``validate`` loads it.
    """
    refuse_to_replace(out, force)
    try:
        text = script.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{script}: no such file", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{script}: cannot read: {e}", hint="save it as UTF-8 text") from None
    draft, warnings, errors = import_screenplay(fn.parse(text), str(script))
    if errors:
        raise ScreenplayError(errors + warnings)
    casting = casting or out.with_name(f"{out.stem}.cast.yaml")
    draft.cast = os.path.relpath(casting.resolve(), out.resolve().parent)
    header = f"Made by `nava-director import {script.name}`: edit freely, then `nava-director validate`."
    _merge_casting(casting, draft.characters, f"The characters of {out.name}: give each a look and a voice.")
    write_text(out, storyboard_yaml(draft, header))
    loaded = load_storyboard(out)
    return Imported(out, casting, loaded, warnings + loaded.warnings)
