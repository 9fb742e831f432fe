"""Render a storyboard: each shot's chosen take, or a new one, then the cut (DESIGN §6).

For each shot in plan order the director computes the shot's key (keys.py) and looks for
its chosen take: the locked take; else the picked take if it was made from the current
inputs; else the take of the current key at the storyboard's seed; else it renders that.
A continued shot starts from the last frame of its upstream shot's chosen take, whose hash
is part of its key: re-rendering or picking a shot makes the shots continued from it stale.

A shot that fails is recorded and the run goes on with the shots that do not continue from
it. Nothing here imports torch: the engine loads what it needs on its first render, so a
run where nothing changed renders nothing, cuts nothing and returns quickly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from nava_director.captions import CaptionResult, write_captions
from nava_director.config import Settings, choose_engine
from nava_director.cut import CutSettings, CutShot, cut_film
from nava_director.cut.edit import plan_edit
from nava_director.engines.base import Clip, Engine, ShotRequest, SpeechLine
from nava_director.engines.registry import create_engine, render_size
from nava_director.errors import InputError, NavaError
from nava_director.keys import ShotKey, file_hash, guidance_items, voice_hashes
from nava_director.loader import load_storyboard
from nava_director.plan import RenderPlan, ShotJob, make_plan
from nava_director.store import CaptionNote, Failure, Manifest, Project, Report, ShotEntry, Take, read_png
from nava_director.storyboard import RENDER_FPS, Camera


class Progress(Protocol):
    """What a run tells its display (the CLI's rich progress)."""

    def start(self, shots: int) -> None: ...
    def shot(self, shot_id: str, done: int, note: str) -> None: ...
    def step(self, done: int, total: int, what: str) -> None: ...


@dataclass(frozen=True)
class RenderOptions:
    shots: tuple[str, ...] = ()  # --shot: the shots to make new takes of (all, with --takes/--seed)
    takes: int | None = None  # --takes K
    seed: int | None = None  # --seed S: new takes get S, S+1, ...

    @property
    def new_takes(self) -> bool:
        return bool(self.shots) or self.takes is not None or self.seed is not None


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


def fit_image(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop an image to exactly width x height."""
    from PIL import Image, ImageOps

    if pixels.shape[:2] == (height, width):
        return pixels
    return np.asarray(ImageOps.fit(Image.fromarray(pixels).convert("RGB"), (width, height)))


def choose(takes: list[Take], entry: ShotEntry, key: str | None, seed: int) -> Take | None:
    """The take a shot uses (DESIGN §6), or None when it must be rendered."""
    by_n = {t.n: t for t in takes}
    if entry.locked and entry.chosen in by_n:
        return by_n[entry.chosen]
    if entry.picked in by_n and by_n[entry.picked].key == key:
        return by_n[entry.picked]
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


@dataclass
class Director:
    """A storyboard, its plan, its project folder and the engine that renders it."""

    storyboard: Path
    settings: Settings
    steps: int | None = None
    plan: RenderPlan = field(init=False)
    project: Project = field(init=False)
    engine: Engine = field(init=False)
    size: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.plan = make_plan(load_storyboard(self.storyboard))
        self.project = Project(self.settings.project_dir(self.storyboard))
        name, _ = choose_engine(self.settings)
        self.engine = create_engine(name, self.settings.weights)
        full = self.plan.storyboard.storyboard.format.size
        self.size = self.settings.size or render_size(self.engine, full)

    @property
    def characters(self):
        return self.plan.storyboard.characters

    def captions(self, manifest: Manifest, cached_only: bool = False) -> dict[str, CaptionResult]:
        return write_captions(
            self.plan.storyboard,
            settings=self.settings,
            cache_dir=self.project.root / "captions",
            recorded_writer=manifest.writer,
            recorded_model=manifest.caption_model,
            cached_only=cached_only,
        )

    def speech(self, job: ShotJob) -> list[SpeechLine]:
        lines = []
        for span in job.spec.spans():
            who = self.characters.get(span.speaker) if span.speaker else None
            lines.append(SpeechLine(span.text, span.speaker, who.name if who else None, who.voice if who else None))
        return lines

    def key(self, job: ShotJob, caption: CaptionResult, upstream: Take | None) -> ShotKey:
        width, height = self.size
        steps = self.steps or self.plan.storyboard.storyboard.defaults.steps
        return ShotKey(
            caption=caption.caption,
            writer=caption.writer,
            voices=voice_hashes([line.voice for line in self.speech(job)]),
            first_frame=file_hash(job.image) if job.image else None,
            upstream=upstream.last_frame_hash if upstream else None,
            width=width,
            height=height,
            frames=job.frames,
            fps=RENDER_FPS,
            steps=steps,
            guidance=guidance_items(self.settings.guidance),
            engine=self.engine.id,
            negative_prompt=self.settings.negative_prompt,
        )

    def first_frame(self, job: ShotJob, upstream: Take | None) -> np.ndarray | None:
        if upstream is not None:
            pixels = read_png(upstream.last_frame)
        elif job.image is not None:
            from nava_director.still import read_still

            pixels = read_still(job.image)
        else:
            return None
        return fit_image(pixels, *self.size)

    def request(
        self, job: ShotJob, caption: CaptionResult, key: ShotKey, seed: int, upstream: Take | None
    ) -> ShotRequest:
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
            speech=self.speech(job),
            width=key.width,
            height=key.height,
            frames=job.frames,
            fps=RENDER_FPS,
            seed=seed,
            steps=key.steps,
            first_frame=self.first_frame(job, upstream),
            guidance=dict(key.guidance) or None,
            negative_prompt=key.negative_prompt,
            card=card,
        )

    def state(
        self, job: ShotJob, caption: CaptionResult | None, upstream: Take | None, entry: ShotEntry
    ) -> ShotState:
        """The shot's key and chosen take. No key: a continued shot whose upstream has no take, or
        a shot whose LLM caption is not written yet (`takes` asks no LLM); only a lock keeps a take then."""
        unknown = caption is None or (job.continue_from and upstream is None)
        key = None if unknown else self.key(job, caption, upstream)
        takes = self.project.takes(job.shot)
        return ShotState(job, key, choose(takes, entry, key.value if key else None, job.seed), takes, entry)

    def cut_shots(self, clips: dict[str, Path] | None = None) -> list[CutShot]:
        """The film's shots as the cut sees them: every spoken line (dialogue and spans in the
        action) subtitled, with the clips given (None: before rendering, to check the edit)."""
        shots = []
        for job in self.plan.film:
            spec = job.spec
            lines = [(self.characters[s.speaker].name or s.speaker if s.speaker else None, s.text)
                     for s in spec.spans()]
            shots.append(
                CutShot(
                    shot_id=job.shot,
                    clip_path=clips[job.shot] if clips else Path(),
                    frames=job.frames,
                    fps=RENDER_FPS,
                    continued=job.continue_from is not None,
                    transition=spec.transition,
                    transition_s=spec.transition_s,
                    audio_lead_s=spec.audio_lead_s,
                    audio_lag_s=spec.audio_lag_s,
                    dialogue=lines,
                )
            )
        return shots

    def states(self, manifest: Manifest, captions: dict[str, CaptionResult]) -> list[ShotState]:
        """Every shot's key and chosen take as things stand, in plan order (renders nothing)."""
        chosen: dict[str, Take | None] = {}
        out = []
        for job in self.plan.jobs:
            upstream = chosen.get(job.continue_from) if job.continue_from else None
            state = self.state(job, captions.get(job.shot), upstream, manifest.shot(job.shot))
            chosen[job.shot] = state.chosen
            out.append(state)
        return out


@dataclass
class _Run:
    """One render run's bookkeeping."""

    director: Director
    options: RenderOptions
    progress: Progress | None
    manifest: Manifest
    captions: dict[str, CaptionResult]
    report: Report = field(default_factory=Report)
    chosen: dict[str, Take | None] = field(default_factory=dict)

    def selected(self, job: ShotJob) -> bool:
        return self.options.new_takes and (not self.options.shots or job.shot in self.options.shots)

    def render_take(self, job: ShotJob, caption: CaptionResult, key: ShotKey, seed: int, upstream: Take | None) -> Take:
        request = self.director.request(job, caption, key, seed, upstream)
        started = time.perf_counter()
        clip: Clip = self.director.engine.render(request, self.progress.step if self.progress else None)
        rendered = time.perf_counter() - started
        meta = {
            "engine": key.engine,
            "caption": key.caption,
            "writer": key.writer,
            "width": key.width,
            "height": key.height,
            "frames": key.frames,
            "fps": key.fps,
            "steps": key.steps,
        }
        timings = {"render_s": round(rendered, 3)}
        crf = self.director.settings.crf
        return self.director.project.add_take(job.shot, key.value, seed, clip, meta, timings, crf)

    def shot(self, job: ShotJob) -> None:
        """Bring one shot up to date (and make its new takes, if asked)."""
        upstream = self.chosen.get(job.continue_from) if job.continue_from else None
        if job.continue_from and upstream is None:
            raise NavaError(f"not rendered: it continues from {job.continue_from!r}, which has no take")
        caption, entry = self.captions[job.shot], self.manifest.shot(job.shot)
        state = self.director.state(job, caption, upstream, entry)
        key, takes, chosen = state.key, state.takes, state.chosen
        previous = {t.n: t for t in takes}.get(entry.chosen)
        rendered = False
        if self.selected(job):
            start = self.options.seed if self.options.seed is not None else job.seed
            before = {t.n for t in takes}
            for seed in new_seeds(takes, key.value, start, self.options.takes or 1, self.options.seed is not None):
                if not any(t.key == key.value and t.seed == seed for t in takes):
                    takes.append(self.render_take(job, caption, key, seed, upstream))
                    rendered = True
            chosen = choose(takes, entry, key.value, job.seed)
            made = [t.n for t in takes if t.n not in before and t is not chosen]
            if made:
                self.report.new_takes[job.shot] = made
        if chosen is None:
            chosen = self.render_take(job, caption, key, job.seed, upstream)
            rendered = True
        if previous is not None and previous.key != key.value and not entry.locked:
            self.report.stale.append(job.shot)
        if entry.locked:
            self.report.locked.append(job.shot)
        (self.report.rendered if rendered else self.report.reused).append(job.shot)
        entry.key, entry.chosen = key.value, chosen.n
        self.chosen[job.shot] = chosen

    def attempt(self, job: ShotJob) -> None:
        """:meth:`shot`, a failure recorded instead of raised."""
        try:
            self.shot(job)
        except Exception as error:  # noqa: BLE001 - one failed shot must not stop the film
            message = error.message if isinstance(error, NavaError) else f"{type(error).__name__}: {error}"
            self.report.failed.append(Failure(shot=job.shot, error=message))
            self.chosen[job.shot] = None

    def run(self) -> None:
        jobs = self.director.plan.jobs
        if self.progress:
            self.progress.start(len(jobs))
        for done, job in enumerate(jobs):
            if self.progress:
                self.progress.shot(job.shot, done, "")
            self.attempt(job)
            if job.shot in self.report.rendered:  # the takes on disk are the truth; this is a mirror
                self.director.project.save_manifest(self.manifest)
        self.director.project.save_manifest(self.manifest)
        if self.progress:
            self.progress.shot("", len(jobs), "done")

    def cut(self) -> None:
        """Cut the film from every shot's chosen take (the cut skips itself when nothing changed)."""
        if self.report.failed:
            return
        storyboard = self.director.plan.storyboard
        shots = self.director.cut_shots({job.shot: self.chosen[job.shot].clip for job in self.director.plan.film})
        sb = storyboard.storyboard
        settings = CutSettings(
            fps=sb.format.fps,
            loudness_lufs=self.director.settings.loudness,
            language=sb.defaults.language,
            title=storyboard.title,
            crf=self.director.settings.crf,
            burn_subtitles=self.director.settings.burn_subtitles,
        )
        film = cut_film(shots, self.director.project.root, settings)
        self.report.film = {
            "path": str(film.paths["mp4"]),
            "files": {k: str(v) for k, v in film.paths.items()},
            "duration_s": film.duration_s,
            "key": film.key,
            "cut": not film.reused,
        }


def render(
    director: Director,
    options: RenderOptions = RenderOptions(),
    progress: Progress | None = None,
    run_shots: Callable[[_Run], None] = _Run.run,
) -> Report:
    """Render what changed, make the new takes asked for, cut the film; write report.json.

    ``run_shots`` brings every shot up to date (several GPUs: ``parallel_render`` shares them out).
    """
    for shot_id in options.shots:
        if shot_id not in {job.shot for job in director.plan.jobs}:
            raise InputError(f"no shot {shot_id!r} in {director.storyboard}", hint="see `nava-director plan`")
    if options.takes is not None and options.takes < 1:
        raise InputError("--takes must be at least 1")
    plan_edit(director.cut_shots(), RENDER_FPS)  # transitions that cannot fit: said before anything renders
    started = time.perf_counter()
    with director.project.locked():
        director.project.clean()
        manifest = director.project.manifest()
        captions = director.captions(manifest)
        manifest.writer = next(iter(captions.values())).requested
        manifest.caption_model = next((c.model for c in captions.values() if c.model), manifest.caption_model)
        manifest.size = director.size
        manifest.steps = director.steps
        run = _Run(director, options, progress, manifest, captions)
        run.report.captions = {s: CaptionNote(writer=c.writer, fallback=c.fallback) for s, c in captions.items()}
        try:
            run_shots(run)
            shots_done = time.perf_counter()
            try:
                run.cut()
            except NavaError as error:  # the takes are kept; report.json still says what this run did
                run.report.film = {"error": str(error)}
                director.project.save_report(run.report)
                raise
        except KeyboardInterrupt:
            director.project.save_manifest(run.manifest)
            raise NavaError(
                "interrupted: the finished takes are kept",
                hint="run the same command again to resume where it stopped",
                exit_code=130,
            ) from None
        run.report.timings = {
            "shots_s": round(shots_done - started, 3),
            "cut_s": round(time.perf_counter() - shots_done, 3),
            "total_s": round(time.perf_counter() - started, 3),
        }
        director.project.save_report(run.report)
    return run.report


def pick(director: Director, shot_id: str, n: int, lock: bool = False) -> Take:
    """Choose take ``n`` of a shot; the shots continued from it become stale.

    A take made from other inputs than the shot has now (it was edited since) is used only
    when it is also locked (``lock``): otherwise the next render would pass it over.
    """
    with director.project.locked():
        takes = {t.n: t for t in director.project.takes(_known(director, shot_id))}
        if n not in takes:
            raise InputError(
                f"shot {shot_id!r} has no take {n}",
                hint=f"its takes: {', '.join(map(str, takes)) or 'none yet'} (see `nava-director takes`)",
            )
        if not lock:
            (state,) = status(director, shot_id)
            if state.key is None or state.key.value != takes[n].key:
                raise InputError(
                    f"take {n} of shot {shot_id!r} was rendered from other inputs than the shot has now",
                    hint="render the shot again for takes of its current inputs, or add --lock to use this take "
                    "whatever changed",
                )
        manifest = director.project.manifest()
        entry = manifest.shot(shot_id)
        entry.picked = entry.chosen = n
        entry.locked = entry.locked or lock
        director.project.save_manifest(manifest)
        return takes[n]


def set_locked(director: Director, shot_id: str, locked: bool) -> ShotEntry:
    """``lock``: keep the shot's chosen take whatever its inputs; ``unlock`` undoes it."""
    with director.project.locked():
        manifest = director.project.manifest()
        entry = manifest.shot(_known(director, shot_id))
        if locked and entry.chosen is None:
            raise InputError(f"shot {shot_id!r} has no chosen take to lock", hint="render it first")
        entry.locked = locked
        director.project.save_manifest(manifest)
        return entry


def status(director: Director, shot_id: str | None = None) -> list[ShotState]:
    """Every shot's (or one shot's) takes, key and chosen take, without rendering (for `takes`).

    Keys are made at the size and steps of the last render unless the settings name them. No
    LLM is asked: a shot whose rewritten caption is not cached yet has no key (it renders anew).
    """
    if shot_id is not None:
        _known(director, shot_id)
    manifest = director.project.manifest()
    if director.settings.size is None and manifest.size:  # as the project was last rendered
        director.size = manifest.size
    if director.steps is None:
        director.steps = manifest.steps
    states = director.states(manifest, director.captions(manifest, cached_only=True))
    return [s for s in states if shot_id is None or s.job.shot == shot_id]


def _known(director: Director, shot_id: str) -> str:
    if shot_id not in {job.shot for job in director.plan.jobs}:
        raise InputError(f"no shot {shot_id!r} in {director.storyboard}", hint="see `nava-director plan`")
    return shot_id
