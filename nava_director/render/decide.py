"""A shot's take: its key, the take it uses, and the request that renders a new one.

For each shot in plan order the director computes the shot's key (``project/keys.py``)
from the shot, its caption, the run's :class:`~nava_director.render.shape.Shape` and, for a
continued shot, the last frame of its upstream shot's chosen take. It then looks for the
take the shot uses (:func:`choose`): the locked take; else the picked take if it was made
from the current inputs; else the take the checks chose (``render --retake``) if it was made
from the current inputs; else the take of the current key at the storyboard's seed; else
none, and the shot must render. Re-rendering or picking a shot changes its last frame, so
the shots continued from it become stale. See docs/architecture.md, "Deciding a shot's take".

Nothing here writes or renders; :mod:`nava_director.render.jobs` acts on the decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nava_director.captions import CaptionResult
from nava_director.engines.base import ShotRequest, SpeechLine
from nava_director.project.files import read_png
from nava_director.project.folder import Project
from nava_director.project.keys import ShotKey, file_hash, voice_hashes
from nava_director.project.manifest import Manifest, ShotEntry
from nava_director.project.takes import Take
from nava_director.render.shape import Shape
from nava_director.storyboard.model import Camera, Character
from nava_director.storyboard.plan import RenderPlan, ShotJob


@dataclass(frozen=True)
class ShotState:
    """Where a shot stands before a run: its key and the take it would use (None: must render)."""

    job: ShotJob
    key: ShotKey | None  # None: it continues from a shot that has no usable take yet
    chosen: Take | None
    takes: list[Take]
    entry: ShotEntry

    @property
    def status(self) -> str:
        if self.entry.locked and self.chosen is not None:
            return "locked"
        if self.chosen is not None:
            return "fresh"
        return "stale" if self.takes else "new"


def camera_text(camera: Camera | str | None) -> str:
    if isinstance(camera, Camera):
        return " · ".join(v for v in (camera.size, camera.angle, camera.move, camera.speed) if v)
    return camera or ""


def choose(takes: list[Take], entry: ShotEntry, key: str | None, seed: int) -> Take | None:
    """The take a shot uses, or None when it must be rendered."""
    by_n = {t.n: t for t in takes}
    if entry.locked and entry.chosen in by_n:
        return by_n[entry.chosen]
    if entry.picked in by_n and by_n[entry.picked].key == key:
        return by_n[entry.picked]
    if entry.by_checks in by_n and by_n[entry.by_checks].key == key:
        return by_n[entry.by_checks]
    matching = [t for t in takes if t.key == key and t.seed == seed]
    return matching[-1] if matching else None


def new_seeds(takes: list[Take], key: str, start: int, count: int, explicit: bool) -> list[int]:
    """Seeds for ``count`` new takes: S, S+1, … (explicit) or the next ones not yet used."""
    if explicit:
        return list(range(start, start + count))
    used = {t.seed for t in takes if t.key == key}
    seeds, seed = [], start
    while len(seeds) < count:
        if seed not in used:
            seeds.append(seed)
        seed += 1
    return seeds


def speech(job: ShotJob, characters: Mapping[str, Character]) -> list[SpeechLine]:
    """The shot's spoken lines in caption order, each with its character's name and voice."""
    lines = []
    for span in job.spec.spans():
        who = characters.get(span.speaker) if span.speaker else None
        lines.append(SpeechLine(span.text, span.speaker, who.name if who else None, who.voice if who else None))
    return lines


def shot_key(
    job: ShotJob, caption: CaptionResult, upstream: Take | None, shape: Shape, characters: Mapping[str, Character]
) -> ShotKey:
    return ShotKey(
        caption=caption.caption,
        writer=caption.writer,
        voices=voice_hashes([line.voice for line in speech(job, characters)]),
        first_frame=file_hash(job.image) if job.image else None,
        upstream=upstream.last_frame_hash if upstream else None,
        width=shape.width,
        height=shape.height,
        frames=job.frames,
        fps=shape.fps,
        steps=shape.steps,
        guidance=shape.guidance,
        engine=shape.engine,
        negative_prompt=shape.negative_prompt,
    )


def first_frame(job: ShotJob, upstream: Take | None) -> np.ndarray | None:
    """The shot's first frame as given (the engine fits it to the request's size), or None."""
    if upstream is not None:
        return read_png(upstream.last_frame)
    if job.image is None:
        return None
    from nava_director.storyboard.still import read_still

    return read_still(job.image)


def shot_request(
    job: ShotJob, caption: CaptionResult, key: ShotKey, seed: int, upstream: Take | None,
    characters: Mapping[str, Character],
) -> ShotRequest:
    """What the engine renders for one take of the shot."""
    spec = job.spec
    card = {
        "scene": job.scene,
        "shot": job.shot,
        "action": spec.action or "",
        "camera": camera_text(spec.camera),
        "sound": spec.sound or "",
    }
    return ShotRequest(
        shot_id=job.shot,
        caption=caption.caption,
        speech=speech(job, characters),
        width=key.width,
        height=key.height,
        frames=job.frames,
        fps=key.fps,
        seed=seed,
        steps=key.steps,
        first_frame=first_frame(job, upstream),
        guidance=dict(key.guidance) or None,
        negative_prompt=key.negative_prompt,
        card=card,
    )


def shot_state(
    job: ShotJob,
    caption: CaptionResult | None,
    upstream: Take | None,
    entry: ShotEntry,
    takes: list[Take],
    shape: Shape,
    characters: Mapping[str, Character],
) -> ShotState:
    """The shot's key and chosen take. No key: a continued shot whose upstream has no take, or
    a shot whose LLM caption is not written yet (`takes` asks no LLM); only a lock keeps a take then."""
    unknown = caption is None or (job.continue_from and upstream is None)
    key = None if unknown else shot_key(job, caption, upstream, shape, characters)
    return ShotState(job, key, choose(takes, entry, key.value if key else None, job.seed), takes, entry)


def states(
    plan: RenderPlan, project: Project, manifest: Manifest, captions: Mapping[str, CaptionResult], shape: Shape
) -> list[ShotState]:
    """Every shot's key and chosen take as things stand, in plan order (renders nothing)."""
    chosen: dict[str, Take | None] = {}
    out = []
    for job in plan.jobs:
        upstream = chosen.get(job.continue_from) if job.continue_from else None
        state = shot_state(job, captions.get(job.shot), upstream, manifest.shot(job.shot),
                           project.takes(job.shot), shape, plan.storyboard.characters)
        chosen[job.shot] = state.chosen
        out.append(state)
    return out
