"""A shot as every caption writer sees it: the structured fields, its cast, its spans.

A :class:`ShotBrief` is built once per shot from the storyboard and is the only input a
writer gets, so it is also what the caption cache hashes (``as_dict``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from nava_director.storyboard.model import Camera, Scene, Shot, Storyboard


@dataclass(frozen=True)
class CastMember:
    id: str
    name: str  # the display name, or the id where the storyboard gives none
    look: str | None


@dataclass(frozen=True)
class Line:
    """One dialogue line: who says it (display name) and the exact words."""

    speaker: str
    text: str


@dataclass(frozen=True)
class ShotBrief:
    shot_id: str
    duration: float
    aspect: str
    language: str  # the storyboard's language; captions are always written in Chinese
    setting: str | None
    action: str | None  # may hold spans, in either markup
    camera: Camera | str | None
    sound: str | None
    dialogue: tuple[Line, ...]
    cast: tuple[CastMember, ...]  # who is in the shot: named in the action, then the speakers
    spans: tuple[str, ...]  # every span's text, in caption order (action's, then dialogue's)

    def as_dict(self) -> dict[str, Any]:
        """The structured shot as plain JSON data (what the LLM is shown and the cache hashes)."""
        data = asdict(self)
        if isinstance(self.camera, Camera):
            data["camera"] = self.camera.model_dump(exclude_none=True)
        return data


def _mentioned(text: str, character_id: str, name: str) -> int | None:
    """Where ``text`` first names a character (by display name, or id as a whole word)."""
    positions = [text.find(name)] if name else []
    if m := re.search(rf"\b{re.escape(character_id)}\b", text):
        positions.append(m.start())
    found = [p for p in positions if p >= 0]
    return min(found) if found else None


def _cast(storyboard: Storyboard, shot: Shot) -> tuple[CastMember, ...]:
    def member(cid: str) -> CastMember:
        character = storyboard.characters.get(cid)
        name = (character.name if character else None) or cid
        return CastMember(cid, name, character.look if character else None)

    action = shot.action or ""
    named = []
    for cid in storyboard.characters:
        pos = _mentioned(action, cid, member(cid).name)
        if pos is not None:
            named.append((pos, cid))
    ids = [cid for _, cid in sorted(named)] + shot.speakers()
    return tuple(member(cid) for cid in dict.fromkeys(ids))


def shot_brief(storyboard: Storyboard, scene: Scene, shot: Shot) -> ShotBrief:
    cast = {m.id: m for m in _cast(storyboard, shot)}
    return ShotBrief(
        shot_id=shot.id,
        duration=shot.duration,
        aspect=storyboard.format.aspect,
        language=storyboard.defaults.language,
        setting=scene.setting,
        action=shot.action,
        camera=shot.camera,
        sound=shot.sound,
        dialogue=tuple(Line(cast[d.who].name, d.line) for d in shot.dialogue),
        cast=tuple(cast.values()),
        spans=tuple(span.text for span in shot.spans()),
    )


def shot_briefs(storyboard: Storyboard, shot_ids: list[str] | None = None) -> list[ShotBrief]:
    """Briefs of the named shots (all shots when None), in storyboard order."""
    wanted = None if shot_ids is None else set(shot_ids)
    return [
        shot_brief(storyboard, scene, shot)
        for scene, shot in storyboard.shots()
        if wanted is None or shot.id in wanted
    ]
