"""The take commands: ``takes`` (status), ``check``, ``pick``, ``lock`` and ``unlock``.

They decide nothing new and render nothing: keys are made at the shape of the last render
(``shape_of(session, last=manifest)``) and no LLM is asked (a shot whose rewritten caption is not
cached has no key). ``pick`` and ``lock`` write the manifest under the project lock.
"""

from __future__ import annotations

from nava_director.checks import TakeChecks
from nava_director.checks.asr import check_model_folder
from nava_director.checks.takes import CheckedTake, TakeChecker, drift, stored
from nava_director.errors import InputError
from nava_director.project.manifest import ShotEntry
from nava_director.project.takes import Take
from nava_director.render.decide import ShotState, speech, states
from nava_director.render.shape import shape_of
from nava_director.session import Session


def status(session: Session, shot_id: str | None = None) -> list[ShotState]:
    """Every shot's (or one shot's) takes, key and chosen take, without rendering (for `takes`).

    Keys are made at the size and steps of the last render unless the settings name them. No
    LLM is asked: a shot whose rewritten caption is not cached yet has no key (it renders anew).
    """
    if shot_id is not None:
        session.known(shot_id)
    manifest = session.project.manifest()
    captions = session.captions(manifest, cached_only=True)
    found = states(session.plan, session.project, manifest, captions, shape_of(session, last=manifest))
    return [s for s in found if shot_id is None or s.job.shot == shot_id]


def check(session: Session, shot_id: str | None = None, all_takes: bool = False) -> list[CheckedTake]:
    """``check``: measure the film's take of every shot (the one the last render chose, as the
    manifest says), or of one; ``all_takes``: every take. Each record is stored in its
    meta.json, under the project lock; nothing renders, no LLM is asked. A film take's chain
    drift is judged from the chain's measured records."""
    if shot_id is not None:
        session.known(shot_id)
    settings, project = session.settings, session.project
    check_model_folder(settings.asr_model)
    checker = TakeChecker(settings.weights, settings.asr_model)
    rows: list[CheckedTake] = []
    film: dict[str, TakeChecks | None] = {}  # each shot's film take's record, for the drift
    with project.locked():
        manifest = project.manifest()
        takes = {job.shot: {t.n: t for t in project.takes(job.shot)} for job in session.plan.jobs}
        chosen = {shot: by_n.get(manifest.shot(shot).chosen) for shot, by_n in takes.items()}
        for job in session.plan.jobs:
            if shot_id is not None and job.shot != shot_id:
                film[job.shot] = stored(chosen[job.shot]) if chosen[job.shot] else None
                continue
            upstream = chosen.get(job.continue_from) if job.continue_from else None
            lines, mine = speech(job, session.characters), chosen[job.shot]
            for take in takes[job.shot].values() if all_takes else [t for t in [mine] if t is not None]:
                row = CheckedTake(job.shot, take, take is mine, checker.measure(take, lines, upstream))
                rows.append(row)
                if row.chosen:
                    film[job.shot] = row.record
    drifts = drift(list(session.plan.jobs), film, checker.thresholds)
    return [CheckedTake(r.shot, r.take, r.chosen, r.record, drifts.get(r.shot) if r.chosen else None) for r in rows]


def pick(session: Session, shot_id: str, n: int, lock: bool = False) -> Take:
    """Choose take ``n`` of a shot; the shots continued from it become stale.

    A take made from other inputs than the shot has now (it was edited since) is used only
    when it is also locked (``lock``): otherwise the next render would pass it over.
    """
    project = session.project
    with project.locked():
        takes = {t.n: t for t in project.takes(session.known(shot_id))}
        if n not in takes:
            raise InputError(
                f"shot {shot_id!r} has no take {n}",
                hint=f"its takes: {', '.join(map(str, takes)) or 'none yet'} (see `nava-director takes`)",
            )
        if problem := takes[n].problem():
            raise InputError(f"take {n} of shot {shot_id!r} is damaged: {problem}",
                             hint="pick another take; the next render sets this one aside and renders the shot again")
        if not lock:
            (state,) = status(session, shot_id)
            if state.key is None or state.key.value != takes[n].key:
                raise InputError(
                    f"take {n} of shot {shot_id!r} was rendered from other inputs than the shot has now",
                    hint="render the shot again for takes of its current inputs, or add --lock to use this take "
                    "whatever changed",
                )
        manifest = project.manifest()
        entry = manifest.shot(shot_id)
        entry.picked = entry.chosen = n
        entry.locked = entry.locked or lock
        project.save_manifest(manifest)
        return takes[n]


def set_locked(session: Session, shot_id: str, locked: bool) -> ShotEntry:
    """``lock``: keep the shot's chosen take whatever its inputs; ``unlock`` undoes it."""
    with session.project.locked():
        manifest = session.project.manifest()
        entry = manifest.shot(session.known(shot_id))
        if locked and entry.chosen is None:
            raise InputError(f"shot {shot_id!r} has no chosen take to lock", hint="render it first")
        entry.locked = locked
        session.project.save_manifest(manifest)
        return entry
