"""Running a list of shot jobs: each shot brought up to date, its new takes made if asked.

:func:`run_jobs` is the render loop. A one-process render calls it on every job of the
plan; a group leader of a ``--gpus`` render calls it on its group's jobs. What differs is
passed in: the engine (a group's leader hands each request to its followers too) and the
:class:`TakeWriter` (the project folder itself, or rank 0 writing for a leader). A shot that
fails is recorded and the run goes on with the shots that do not continue from it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from nava_director.captions import CaptionResult
from nava_director.checks.takes import TakeChecker, score
from nava_director.engines.base import Engine
from nava_director.errors import NavaError
from nava_director.progress import Progress
from nava_director.project.folder import Project
from nava_director.project.keys import ShotKey
from nava_director.project.manifest import Manifest, ShotEntry
from nava_director.project.report import Failure, Report, ShotChecks
from nava_director.project.takes import NewTake, Take, TakeMeta
from nava_director.render.decide import choose, new_seeds, shot_request, shot_state, speech
from nava_director.render.shape import Shape
from nava_director.storyboard.model import Character
from nava_director.storyboard.plan import ShotJob


class TakeWriter(Protocol):
    """Where a run's new takes go: the project folder, or (a group leader) rank 0's writer."""

    def add_take(self, new: NewTake) -> Take: ...

    def save_manifest(self, manifest: Manifest) -> None: ...


@dataclass(frozen=True)
class RenderOptions:
    shots: tuple[str, ...] = ()  # --shot: the shots to make new takes of (all, with --takes/--seed)
    takes: int | None = None  # --takes K
    seed: int | None = None  # --seed S: new takes get S, S+1, ...

    @property
    def new_takes(self) -> bool:
        return bool(self.shots) or self.takes is not None or self.seed is not None

    def selects(self, job: ShotJob) -> bool:
        """Whether the run makes new takes of ``job``."""
        return self.new_takes and (not self.shots or job.shot in self.shots)


@dataclass(frozen=True)
class RunInputs:
    """What every decision of one run reads: the folder's takes, the manifest, the captions."""

    project: Project  # the takes are read here
    manifest: Manifest  # its entries of the run's shots are brought up to date by run_jobs
    captions: Mapping[str, CaptionResult]
    shape: Shape
    characters: Mapping[str, Character]
    options: RenderOptions = RenderOptions()
    crf: int = 18
    checker: TakeChecker | None = None  # measures every new take (None: --no-check, or a --gpus follower)
    retake: int = 0  # --retake N: a new take that fails a check renders again, up to N more times


@dataclass
class JobsOutcome:
    """What a run of jobs did: the report's shot lists, each shot's entry and chosen take."""

    report: Report = field(default_factory=Report)
    entries: dict[str, ShotEntry] = field(default_factory=dict)
    chosen: dict[str, Take | None] = field(default_factory=dict)


def run_jobs(
    jobs: list[ShotJob] | tuple[ShotJob, ...],
    inputs: RunInputs,
    engine: Engine,
    writer: TakeWriter,
    progress: Progress | None = None,
) -> JobsOutcome:
    """Bring every job up to date, in order: whole continuation chains, each continued shot
    after its upstream shot (the plan's render order, or a group's share of it)."""
    loop = _Loop(inputs, engine, writer, progress, JobsOutcome())
    if progress:
        progress.start(len(jobs))
    for done, job in enumerate(jobs):
        if progress:
            progress.shot(job.shot, done, "")
        loop.attempt(job)
        if job.shot in loop.outcome.report.rendered:  # the takes on disk are the truth; this is a mirror
            writer.save_manifest(inputs.manifest)
    return loop.outcome


@dataclass
class _Loop:
    inputs: RunInputs
    engine: Engine
    writer: TakeWriter
    progress: Progress | None
    outcome: JobsOutcome

    def render_take(self, job: ShotJob, caption: CaptionResult, key: ShotKey, seed: int, upstream: Take | None) -> Take:
        request = shot_request(job, caption, key, seed, upstream, self.inputs.characters)
        started = time.perf_counter()
        clip = self.engine.render(request, self.progress)
        rendered = time.perf_counter() - started
        new = NewTake(job.shot, key.value, seed, clip, TakeMeta.of(key), rendered, self.inputs.crf)
        return self.writer.add_take(new)

    def checked(self, takes: list[Take], entry: ShotEntry, chosen: Take | None, key: str, seed: int) -> Take | None:
        """``chosen`` if it passes the cheap check of a take about to be used; else it is set
        aside (dropped from ``takes``) and the choice made again, down to None (render it)."""
        while chosen is not None and not self.inputs.project.usable(chosen):
            takes.remove(chosen)
            chosen = choose(takes, entry, key, seed)
        return chosen

    def shot(self, job: ShotJob) -> None:
        """Bring one shot up to date (and make its new takes, if asked)."""
        report, options = self.outcome.report, self.inputs.options
        upstream = self.outcome.chosen.get(job.continue_from) if job.continue_from else None
        if job.continue_from and upstream is None:
            raise NavaError(f"not rendered: it continues from {job.continue_from!r}, which has no take")
        caption, entry = self.inputs.captions[job.shot], self.inputs.manifest.shot(job.shot)
        takes = self.inputs.project.takes(job.shot)
        state = shot_state(job, caption, upstream, entry, takes, self.inputs.shape, self.inputs.characters)
        key, chosen = state.key, self.checked(takes, entry, state.chosen, key=state.key.value, seed=job.seed)
        previous = {t.n: t for t in takes}.get(entry.chosen)
        rendered = False
        if options.selects(job):
            start = options.seed if options.seed is not None else job.seed
            before = {t.n for t in takes}
            for seed in new_seeds(takes, key.value, start, options.takes or 1, options.seed is not None):
                if not any(t.key == key.value and t.seed == seed for t in takes):
                    takes.append(self.render_take(job, caption, key, seed, upstream))
                    rendered = True
            chosen = self.checked(takes, entry, choose(takes, entry, key.value, job.seed), key.value, job.seed)
            made = [t.n for t in takes if t.n not in before and t is not chosen]
            if made:
                report.new_takes[job.shot] = made
        if chosen is None:
            chosen = self.render_take(job, caption, key, job.seed, upstream)
            rendered = True
            if self.inputs.checker is not None:
                chosen = self.retakes(job, caption, key, upstream, takes, chosen, entry)
        if previous is not None and previous.key != key.value and not entry.locked:
            report.stale.append(job.shot)
        if entry.locked:
            report.locked.append(job.shot)
        (report.rendered if rendered else report.reused).append(job.shot)
        entry.key, entry.chosen = key.value, chosen.n
        self.outcome.chosen[job.shot] = chosen

    def retakes(self, job: ShotJob, caption: CaptionResult, key: ShotKey, upstream: Take | None, takes: list[Take],
                first: Take, entry: ShotEntry) -> Take:  # fmt: skip
        """Measure a shot's new take; while it fails a check, render it again with the next seed, up
        to ``retake`` more times. The best take by the checks is chosen (a state of its own in the
        manifest, ``by_checks``); a shot the user picked or locked is never replaced."""
        checker, report = self.inputs.checker, self.outcome.report
        lines = speech(job, self.inputs.characters)
        records = {first.n: checker.measure(first, lines, upstream)}
        by_n = {first.n: first}
        ran = 0
        if records[first.n].failed and self.inputs.retake > 0 and entry.picked is None and not entry.locked:
            takes = [*takes, first]
            for seed in new_seeds(takes, key.value, job.seed + 1, self.inputs.retake, explicit=False):
                take = self.render_take(job, caption, key, seed, upstream)
                takes.append(take)
                by_n[take.n], records[take.n] = take, checker.measure(take, lines, upstream)
                ran += 1
                if not records[take.n].failed:
                    break
        best = min(records, key=lambda n: (*score(records[n]), n))
        if ran:
            entry.by_checks = best
        report.checks[job.shot] = ShotChecks(take=best, failed=records[best].failed, warned=records[best].warned,
                                             retakes=ran, chosen_by_checks=bool(ran))  # fmt: skip
        return by_n[best]

    def attempt(self, job: ShotJob) -> None:
        """:meth:`shot`, a failure recorded instead of raised."""
        try:
            self.shot(job)
        except NavaError as error:
            if error.stops_run:  # e.g. weights that cannot render: every shot would fail alike
                raise
            self.outcome.report.failed.append(Failure(shot=job.shot, error=error.message))
            self.outcome.chosen[job.shot] = None
        except Exception as error:  # noqa: BLE001 - one failed shot must not stop the film
            message = error.message if isinstance(error, NavaError) else f"{type(error).__name__}: {error}"
            self.outcome.report.failed.append(Failure(shot=job.shot, error=message))
            self.outcome.chosen[job.shot] = None
        self.outcome.entries[job.shot] = self.inputs.manifest.shot(job.shot)
