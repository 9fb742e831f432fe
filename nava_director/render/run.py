"""``render``: bring every shot up to date, make the new takes asked for, cut the film.

A run (:class:`Run`) holds the project lock from start to end: it cleans what an
interrupted run left, reads the manifest, writes the captions, resolves what shapes the
shots (``render/shape.py``), then the jobs run
(:func:`~nava_director.render.jobs.run_jobs`, or over several GPUs ``render/parallel.py``),
and :meth:`Run.finish` saves the manifest, cuts the film from every shot's chosen take and
writes report.json. Nothing here imports torch: a run where nothing changed renders
nothing, cuts nothing and returns quickly. See docs/architecture.md, "Data flow".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nava_director.checks.asr import check_model_folder
from nava_director.checks.takes import TakeChecker, drift, stored
from nava_director.cut import CutSettings, CutShot, cut_film
from nava_director.cut.edit import plan_edit
from nava_director.errors import InputError, NavaError
from nava_director.progress import Progress
from nava_director.project.report import CaptionNote, Film, FilmFailure, Report, ShotChecks
from nava_director.project.takes import Take
from nava_director.render.decide import speech
from nava_director.render.jobs import JobsOutcome, RenderOptions, RunInputs, run_jobs
from nava_director.render.shape import shape_of, with_fixed_dit
from nava_director.session import Session
from nava_director.storyboard.model import RENDER_FPS, SEED_MAX

MAX_TAKES = 100  # new takes of one shot in one run


def cut_shots(session: Session, clips: dict[str, Path] | None = None) -> list[CutShot]:
    """The film's shots as the cut sees them: every spoken line (dialogue and spans in the
    action) subtitled, with the clips given (None: before rendering, to check the edit)."""
    shots = []
    characters = session.characters
    for job in session.plan.film:
        spec = job.spec
        lines = [(characters[s.speaker].name or s.speaker if s.speaker else None, s.text) for s in spec.spans()]
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


def check_options(session: Session, options: RenderOptions) -> None:
    """What the run is asked is possible: said before anything renders."""
    for shot_id in options.shots:
        session.known(shot_id)
    if options.takes is not None and not 1 <= options.takes <= MAX_TAKES:
        raise InputError(f"--takes {options.takes} is out of range", hint=f"use 1 to {MAX_TAKES}")
    last = (options.seed or 0) + (options.takes or 1) - 1
    if options.seed is not None and not (0 <= options.seed and last <= SEED_MAX):
        raise InputError(f"--seed {options.seed} is out of range",
                         hint=f"use 0 to {SEED_MAX - (options.takes or 1) + 1}")
    if session.settings.checks:
        check_model_folder(session.settings.asr_model)
    if session.settings.retake and not session.settings.checks:
        raise InputError(f"--retake {session.settings.retake} needs the take checks, which are off (--no-check)",
                         hint="drop --no-check, or --retake")  # fmt: skip
    plan_edit(cut_shots(session), RENDER_FPS)  # transitions that cannot fit


@dataclass
class Run:
    """One render run on an open project, inside its lock."""

    session: Session
    inputs: RunInputs
    started: float
    captions: dict[str, CaptionNote] = field(default_factory=dict)  # who wrote each shot's caption

    def finish(self, outcome: JobsOutcome) -> Report:
        """The jobs' outcome into the manifest (saved), the film cut, report.json written."""
        session, manifest = self.session, self.inputs.manifest
        manifest.shots.update(outcome.entries)
        session.project.save_manifest(manifest)
        report = outcome.report.model_copy(update={"captions": self.captions,
                                                   "set_aside": list(session.project.notes)})
        if self.inputs.checker is not None:
            self.check(outcome, report)
        shots_done = time.perf_counter()
        try:
            try:
                report.film = self.cut(outcome.chosen) if not report.failed else None
            except OSError as error:  # a full disk, a file-size limit, a folder gone read-only
                raise NavaError(f"the cut could not write the film: {error.strerror or error}",
                                hint="free some disk space (the takes are kept), then run the same command "
                                     "again") from None
        except NavaError as error:  # the takes are kept; report.json still says what this run did
            report.film = FilmFailure(error=str(error))
            session.project.save_report(report)
            raise
        report.timings = {
            "shots_s": round(shots_done - self.started, 3),
            "cut_s": round(time.perf_counter() - shots_done, 3),
            "total_s": round(time.perf_counter() - self.started, 3),
        }
        session.project.save_report(report)
        return report

    def check(self, outcome: JobsOutcome, report: Report) -> None:
        """Every new take measured (those the jobs measured already are read back), and each film
        take's checks in the report, the chain's colour drift with them. Never fails the run."""
        checker, project = self.inputs.checker, self.session.project
        asr = checker.asr_model.name if checker.asr_model is not None else None
        records = {}
        for job in self.session.plan.jobs:
            take = outcome.chosen.get(job.shot)
            if take is None:
                continue
            upstream = outcome.chosen.get(job.continue_from) if job.continue_from else None
            if job.shot in report.rendered:
                made = set(report.new_takes.get(job.shot, ())) | {take.n}
                for each in project.takes(job.shot):
                    if each.n in made:
                        checker.measure(each, speech(job, self.session.characters), upstream)
            record = stored(take)
            records[job.shot] = record if record is not None and record.current(asr) else None
        drifts = drift(self.session.plan.jobs, records, checker.thresholds)
        for shot, record in records.items():
            if record is None:
                continue
            failed = [*record.failed, *(["drift"] if shot in drifts and drifts[shot].failed else [])]
            note = report.checks.get(shot) or ShotChecks(take=outcome.chosen[shot].n)
            report.checks[shot] = note.model_copy(update={"failed": failed, "warned": record.warned})

    def cut(self, chosen: dict[str, Take | None]) -> Film:
        """Cut the film from every shot's chosen take (the cut skips itself when nothing changed)."""
        session = self.session
        loaded, settings = session.loaded, session.settings
        shots = cut_shots(session, {job.shot: chosen[job.shot].clip for job in session.plan.film})
        cut = CutSettings(
            fps=loaded.storyboard.format.fps,
            loudness_lufs=settings.loudness,
            language=loaded.storyboard.defaults.language,
            title=loaded.title,
            crf=settings.crf,
            burn_subtitles=settings.burn_subtitles,
        )
        film = cut_film(shots, session.project.root, cut)
        return Film(
            path=str(film.paths["mp4"]),
            files={k: str(v) for k, v in film.paths.items()},
            duration_s=film.duration_s,
            key=film.key,
            cut=not film.reused,
        )


@contextmanager
def begin(session: Session, options: RenderOptions) -> Iterator[Run]:
    """Start a run: the lock taken, leftovers cleaned, the manifest read, the captions written.

    Ctrl-C inside ends the run as an error that says how to resume (exit code 130)."""
    check_options(session, options)
    started = time.perf_counter()
    project = session.project
    with project.locked():
        project.check_layout([job.shot for job in session.plan.jobs])
        project.clean()
        manifest = project.manifest()
        session = with_fixed_dit(session, manifest)
        captions = session.captions(manifest)
        manifest.writer = next(iter(captions.values())).requested
        manifest.caption_model = next((c.model for c in captions.values() if c.model), manifest.caption_model)
        shape = shape_of(session)
        manifest.size = shape.size
        manifest.steps = session.args.steps
        settings = session.settings
        checker = TakeChecker(settings.weights, settings.asr_model) if settings.checks else None
        inputs = RunInputs(project, manifest, captions, shape, session.characters, options, settings.crf, checker,
                           settings.retake)  # fmt: skip
        notes = {s: CaptionNote(writer=c.writer, fallback=c.fallback) for s, c in captions.items()}
        run = Run(session, inputs, started, notes)
        try:
            yield run
        except KeyboardInterrupt:
            project.save_manifest(manifest)
            raise NavaError(
                "interrupted: the finished takes are kept",
                hint="run the same command again to resume where it stopped",
                exit_code=130,
            ) from None


def render(session: Session, options: RenderOptions = RenderOptions(), progress: Progress | None = None) -> Report:
    """Render what changed, make the new takes asked for, cut the film; write report.json."""
    with begin(session, options) as run:
        outcome = run_jobs(session.plan.jobs, run.inputs, run.session.engine, session.project, progress)
        if progress:
            progress.shot("", len(session.plan.jobs), "done")
        return run.finish(outcome)
