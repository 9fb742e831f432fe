"""The semantic rules of a storyboard, each a function adding diagnostics.

They read the YAML tree itself, guarding every type, so that they run — and report at
``LINE:COL`` — even where the schema found other errors in the same file. The loader
(``storyboard/load.py``) runs them all; the schema's own errors come from pydantic.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Iterator

from nava_director.storyboard.model import MAX_SECONDS, RENDER_FPS, Storyboard
from nava_director.storyboard.spans import find_spans, unbalanced
from nava_director.storyboard.yamldoc import Loc, YamlDoc, missing_file

MIN_SECONDS = 1
MAX_SPEAKERS = 2  # distinct voices per shot NAVA was trained with
CJK_PER_SECOND = 5.0  # a comfortable speaking rate, Chinese characters per second
WORDS_PER_SECOND = 3.0  # and English words per second
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
SPEECH_FIELDS = ("action",)  # free text that may hold ~~spans~~ (dialogue lines are spans)
TEXT_FIELDS = ("setting", "sound", "camera", "title", "name", "look")  # free text without speech
SPAN_FIX = "close it: ~~words~~ or <S>words<E>"
ID_RE = re.compile(r"[^\W_][\w.-]*")  # a shot id names its folder in the project: no "/" or ".."
MAX_ID, MAX_ID_BYTES = 60, 200  # a folder name has 255 bytes; files inside add their own


# -- walking the raw tree -------------------------------------------------------------------


def _items(node: Any) -> list:
    return node if isinstance(node, list) else []


def _scenes(root: dict) -> Iterator[tuple[Loc, dict]]:
    for i, scene in enumerate(_items(root.get("scenes"))):
        if isinstance(scene, dict):
            yield ("scenes", i), scene


def _shots(root: dict) -> Iterator[tuple[Loc, dict]]:
    for loc, scene in _scenes(root):
        for j, shot in enumerate(_items(scene.get("shots"))):
            if isinstance(shot, dict):
                yield (*loc, "shots", j), shot


def _dialogue(shot: dict) -> Iterator[tuple[int, dict]]:
    for k, entry in enumerate(_items(shot.get("dialogue"))):
        if isinstance(entry, dict):
            yield k, entry


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known: {', '.join(known)}" if known else "none defined"


# -- the checks -----------------------------------------------------------------------------


def unique_ids(doc: YamlDoc) -> list[str]:
    """Scene ids and shot ids are each unique names; returns the shot ids in order."""
    for kind, entries in (("scene", _scenes(doc.root)), ("shot", _shots(doc.root))):
        first: dict[str, Loc] = {}
        for loc, entry in entries:
            ident = entry.get("id")
            if not isinstance(ident, str):
                continue
            if not ID_RE.fullmatch(ident) or ".." in ident:
                doc.error((*loc, "id"), f"{kind} id {ident!r} is not a plain name",
                          "use letters, digits, '-' and '_' (it names a folder), e.g. reunion-2")
            elif len(ident) > MAX_ID or len(ident.encode()) > MAX_ID_BYTES:
                doc.error((*loc, "id"), f"{kind} id {ident[:20]!r}… is {len(ident)} characters long",
                          f"use at most {MAX_ID} characters; it names a folder")
            elif ident in first:
                (line, _), _ = doc.locate((*first[ident], "id"))
                doc.error((*loc, "id"), f"{kind} id {ident!r} is already used on line {line}",
                          f"give every {kind} its own id")
            else:
                first[ident] = loc
    return [s["id"] for _, s in _shots(doc.root) if isinstance(s.get("id"), str)]


def scenes_not_empty(doc: YamlDoc) -> None:
    for loc, scene in _scenes(doc.root):
        if not scene.get("shots"):
            name = scene.get("id", loc[1])
            doc.error((*loc, "shots"), f"scene {name!r} has no shots",
                      "add at least one shot under `shots:`, or remove the scene")


def durations(doc: YamlDoc) -> None:
    for loc, shot in _shots(doc.root):
        seconds = _number(shot.get("duration"))
        if seconds is None:
            continue  # missing or not a number: the schema says so
        if seconds > MAX_SECONDS:
            doc.error((*loc, "duration"), f"{seconds:g} s is longer than the engine's {MAX_SECONDS} s limit",
                      f"use {MIN_SECONDS}–{MAX_SECONDS} s, or split the shot")
        elif seconds < MIN_SECONDS:
            doc.error((*loc, "duration"), f"{seconds:g} s is shorter than {MIN_SECONDS} s",
                      f"use {MIN_SECONDS}–{MAX_SECONDS} s")


def continuations(doc: YamlDoc, shot_ids: list[str]) -> None:
    """``continue_from`` names another existing shot, never with ``image``, and forms no cycle."""
    upstream: dict[str, str] = {}
    where: dict[str, Loc] = {}
    for loc, shot in _shots(doc.root):
        source, ident = shot.get("continue_from"), shot.get("id")
        if not isinstance(source, str):
            continue
        at = (*loc, "continue_from")
        if source == ident:
            doc.error(at, f"shot {ident!r} continues from itself",
                      "name the shot before it, or remove continue_from")
        elif source not in shot_ids:
            doc.error(at, f"no shot {source!r} to continue from", _did_you_mean(source, shot_ids))
        elif isinstance(ident, str):
            upstream[ident], where[ident] = source, at
        if shot.get("image") is not None:
            doc.error((*loc, "image"), "`image` and `continue_from` both give the first frame",
                      "keep one of them")
    reported: set[str] = set()
    for start in shot_ids:  # storyboard order: a cycle is reported at its first shot
        chain, node = [start], upstream.get(start)
        while node is not None and node not in chain:
            chain.append(node)
            node = upstream.get(node)
        if node == start and start not in reported:
            reported.update(chain)
            doc.error(where[start], "continue_from forms a cycle: " + " -> ".join([*chain, start]),
                      "a chain of continued shots must start at a shot that continues from none")


def images(doc: YamlDoc, base: Path) -> None:
    from nava_director.storyboard.still import FIX as STILL_FIX, still_problem, still_size

    for loc, shot in _shots(doc.root):
        image = shot.get("image")
        if not isinstance(image, str):
            continue
        path = base / Path(image).expanduser()
        if not path.is_file():
            doc.error((*loc, "image"), f"image {path} {missing_file(path)}",
                      "fix the path; it is relative to the storyboard")
            continue
        if problem := still_problem(path):
            doc.error((*loc, "image"), f"{path} {problem}", STILL_FIX)
            continue
        crop = image_crop(still_size(path), _render_size(doc.root))
        if crop is not None:
            doc.warn((*loc, "image"), crop, "crop the still to the storyboard's aspect yourself to choose the frame")


ASPECT_TOLERANCE = 0.01


def _render_size(root: dict) -> tuple[int, int]:
    from nava_director.storyboard.model import ASPECT_SIZES

    fmt = root.get("format") if isinstance(root.get("format"), dict) else {}
    return ASPECT_SIZES.get(fmt.get("aspect"), ASPECT_SIZES["landscape"])


def image_crop(image: tuple[int, int], render: tuple[int, int]) -> str | None:
    """What happens to a still of another aspect than the render: the engine scales it to cover
    the render size and crops the centre (the reference would pick the still's own size bucket
    instead; we keep the storyboard's). None when the aspects agree."""
    (w, h), (width, height) = image, render
    if abs((w / h) / (width / height) - 1) <= ASPECT_TOLERANCE:
        return None
    scale = max(width / w, height / h)
    kept_w, kept_h = round(width / scale), round(height / scale)
    side = f"{(w - kept_w) // 2} px left and right" if kept_w < w else f"{(h - kept_h) // 2} px top and bottom"
    return (f"the image is {w}x{h} (aspect {w / h:.2f}), the storyboard renders {width}x{height} "
            f"(aspect {width / height:.2f}): its centre {kept_w}x{kept_h} is kept, {side} cut off")


def dialogue(doc: YamlDoc, cast: set[str] | None) -> None:
    """Lines are not empty, every ``who`` is cast, at most two speakers per shot.

    ``cast``: the character ids, or None when a named casting file could not be read (then
    ``who`` is not checked, so one missing file does not cascade into many errors).
    """
    known = sorted(cast or [])
    for loc, shot in _shots(doc.root):
        lines = list(_dialogue(shot))
        if lines and cast is not None and not cast:
            doc.error((*loc, "dialogue"), f"shot {shot.get('id')!r} has dialogue but the storyboard has no cast",
                      "add `cast: cast.yaml` or an inline `characters:` map", key=True)
        speakers: list[str] = []
        for k, entry in lines:
            line, who = entry.get("line"), entry.get("who")
            if (isinstance(line, str) and not line.strip()) or ("line" in entry and line is None):
                doc.error((*loc, "dialogue", k, "line"), "empty dialogue line", "write the words, or remove the line")
            if isinstance(who, str):
                if cast and who not in cast:
                    doc.error((*loc, "dialogue", k, "who"), f"{who!r} is not in the cast", _did_you_mean(who, known))
                if who not in speakers:
                    speakers.append(who)
        if len(speakers) > MAX_SPEAKERS:
            doc.error((*loc, "dialogue"),
                      f"shot {shot.get('id')!r} has {len(speakers)} speakers ({', '.join(speakers)}); "
                      f"NAVA voices at most {MAX_SPEAKERS} per shot",
                      "split the shot so that each has at most two speakers", key=True)


def first_shot_joins(doc: YamlDoc) -> None:
    """Warn where the film's first shot asks to join a shot before it: nothing is there."""
    first = next(_shots(doc.root), None)
    if first is None:
        return
    loc, shot = first
    if shot.get("transition") == "dissolve":
        doc.warn((*loc, "transition"), "the first shot has no shot before it to dissolve from",
                 "use fade-in, or remove the transition")
    for name in ("audio_lead_s", "audio_lag_s"):
        if _number(shot.get(name)):
            doc.warn((*loc, name), "the first shot has no shot before it to overlap its sound with", f"remove {name}")


def voiceless_speakers(doc: YamlDoc, voiceless: set[str]) -> None:
    """Warn where a character with no `voice:` speaks: the line gets no reference voice."""
    for loc, shot in _shots(doc.root):
        for k, entry in _dialogue(shot):
            who = entry.get("who")
            if isinstance(who, str) and who in voiceless:
                doc.warn((*loc, "dialogue", k, "who"), f"{who!r} has no voice: the line is spoken in no one's voice",
                         f"give {who} a `voice:` WAV in the cast")


def _text_fields(doc: YamlDoc) -> Iterator[tuple[Loc, str, str]]:
    """(loc, field name, text) of every free-text field in the storyboard."""
    root = doc.root
    if isinstance(root.get("title"), str):
        yield ("title",), "title", root["title"]
    if isinstance(root.get("characters"), dict):
        for cid, character in root["characters"].items():
            for name in ("name", "look"):
                if isinstance(character, dict) and isinstance(character.get(name), str):
                    yield ("characters", cid, name), name, character[name]
    for loc, scene in _scenes(root):
        if isinstance(scene.get("setting"), str):
            yield (*loc, "setting"), "setting", scene["setting"]
    for loc, shot in _shots(root):
        for name in ("action", "sound", "camera"):
            if isinstance(shot.get(name), str):
                yield (*loc, name), name, shot[name]
        for k, entry in _dialogue(shot):
            if isinstance(entry.get("line"), str):
                yield (*loc, "dialogue", k, "line"), "line", entry["line"]


def spans(doc: YamlDoc) -> None:
    """Span markup is balanced everywhere, and speech is written only where it is spoken."""
    for loc, name, text in _text_fields(doc):
        problem = unbalanced(text)
        if problem:
            doc.error(loc, f"{problem} in {name}: speech spans must be closed", SPAN_FIX)
        elif name == "line" and find_spans(text):
            doc.error(loc, "a dialogue line is already spoken: it needs no span markup",
                      "write just the words, without ~~ or <S>…<E>")
        elif name in SPEECH_FIELDS and any(not words.strip() for words in find_spans(text)):
            doc.error(loc, f"empty speech span in {name}", "write the spoken words between the marks, or remove them")
        elif name in TEXT_FIELDS and find_spans(text):
            doc.error(loc, f"speech span in `{name}`: only `action` and `dialogue` are spoken",
                      "move the words into `dialogue`, or into `action` as ~~words~~")


def speaking_seconds(text: str) -> float:
    """About how long ``text`` takes to say: 5 Chinese characters or 3 English words a second."""
    cjk = len(CJK_RE.findall(text))
    words = len(WORD_RE.findall(CJK_RE.sub(" ", text)))
    return cjk / CJK_PER_SECOND + words / WORDS_PER_SECOND


def speaking_rate(doc: YamlDoc) -> None:
    """Warn when a shot's speech cannot be said in its duration (a warning: exit 0)."""
    for loc, shot in _shots(doc.root):
        seconds = _number(shot.get("duration"))
        action = shot.get("action") if isinstance(shot.get("action"), str) else ""
        speech = find_spans(action) + [e["line"] for _, e in _dialogue(shot) if isinstance(e.get("line"), str)]
        needed = sum(speaking_seconds(s) for s in speech)
        if seconds is not None and speech and needed > seconds:
            field = "dialogue" if "dialogue" in shot else "action"
            doc.warn((*loc, field), f"the speech of shot {shot.get('id')!r} takes about {needed:.1f} s "
                     f"to say, but the shot lasts {seconds:g} s", "lengthen the shot or shorten the lines", key=True)


JOIN_FIELDS = ("transition_s", "audio_lead_s", "audio_lag_s", "transition")


def joins(doc: YamlDoc, storyboard: Storyboard) -> None:
    """Every shot's transitions, J/L cuts and fades fit it, by the cut's own rule
    (:func:`~nava_director.cut.edit.join_problems`) on the lengths the shots will render.

    Runs on the validated model (its numbers are known good). A problem is reported at the
    shot's own join field, else at the next shot's (whose join eats into it), else at its
    duration."""
    from nava_director.cut.edit import CutShot, join_problems
    from engine.lengths import frames_for_seconds as frames_for

    shots = [shot for _, shot in storyboard.shots()]
    cut = [CutShot(s.id, Path(), frames_for(s.duration), RENDER_FPS, continued=s.continue_from is not None,
                   transition=s.transition, transition_s=s.transition_s, audio_lead_s=s.audio_lead_s,
                   audio_lag_s=s.audio_lag_s) for s in shots]
    locs = [loc for loc, _ in _shots(doc.root)]
    raw = [shot for _, shot in _shots(doc.root)]
    for i, what, fix in join_problems(cut, RENDER_FPS):
        at = next(((locs[k], name) for k in (i, i + 1) if k < len(raw) for name in JOIN_FIELDS if name in raw[k]),
                  (locs[i], "duration"))
        doc.error((*at[0], at[1]), what, fix)
