"""The checks on a project's takes: measured once, stored in the take's meta.json, read back.

:class:`TakeChecker` measures a take (its clip, the shot's spoken lines, the upstream
take's last frame for a continued shot) and stores the record under ``"checks"`` in its
``meta.json``; a record of the current checks' version and ASR model is read back instead
of measuring again. :func:`drift` judges the colour drift along each chain of film takes.
The render loop (``render/jobs.py``, ``render/run.py``) and the ``check`` command
(``render/take_commands.py``) call them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nava_director.checks.check import TakeContext
from nava_director.checks.drift import chain_drift
from nava_director.checks.media import TakeMedia
from nava_director.checks.models import Models
from nava_director.checks.result import CheckResult, Status, not_run
from nava_director.checks.run import CHECKS, TakeChecks, check_take
from nava_director.checks.script import ShotScript
from nava_director.checks.thresholds import Thresholds
from nava_director.engines.base import SpeechLine
from nava_director.project.files import write_json
from nava_director.project.takes import META, Take
from nava_director.storyboard.plan import ShotJob

KEY = "checks"  # where a take's meta.json holds its record


def stored(take: Take) -> TakeChecks | None:
    """The take's stored record, if it has one (None too for a record this version cannot read)."""
    try:
        meta = json.loads((take.folder / META).read_text(encoding="utf-8"))
        return TakeChecks.from_json(meta[KEY]) if isinstance(meta.get(KEY), dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(take: Take, record: TakeChecks) -> None:
    """Write ``record`` into the take's meta.json (atomically; everything else kept)."""
    path = take.folder / META
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta[KEY] = record.to_json()
    write_json(path, meta)


def score(record: TakeChecks) -> tuple[int, int]:
    """Lower is better: failed checks, then warnings."""
    return len(record.failed), len(record.warned)


@dataclass
class TakeChecker:
    """Measures takes for a run (or the ``check`` command), loading each model once."""

    weights: Path | None = None  # NAVA weights: the voice check hears with the engine's ReDimNet
    asr_model: Path | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        self.models = Models(weights=self.weights, asr_model=self.asr_model)

    def measure(self, take: Take, lines: list[SpeechLine], upstream: Take | None) -> TakeChecks:
        """The take's record: the stored one when current, else measured now and stored. Never
        raises: what cannot be measured is "not run", with the reason (a check never fails a render)."""
        try:
            return self._measure(take, lines, upstream)
        except Exception as error:  # noqa: BLE001
            reason = f"could not run: {type(error).__name__}: {error}"
            return TakeChecks([not_run(check.name, reason) for check in CHECKS])

    def _measure(self, take: Take, lines: list[SpeechLine], upstream: Take | None) -> TakeChecks:
        record = stored(take)
        asr = self.asr_model.name if self.asr_model is not None else None
        if record is not None and record.current(asr):
            return record
        meta = json.loads((take.folder / META).read_text(encoding="utf-8"))
        media = TakeMedia(take.clip)
        seconds = meta["frames"] / meta["fps"] if meta.get("frames") and meta.get("fps") else media.seconds
        script = ShotScript.from_speech(take.shot, lines, seconds)
        ctx = TakeContext(media, script, meta.get("engine", ""), upstream.last_frame if upstream else None,
                          self.thresholds, self.models)  # fmt: skip
        record = check_take(ctx)
        try:
            store(take, record)
        except OSError:  # a read-only project: the record still counts for this run
            pass
        return record


def drift(jobs: list[ShotJob], records: Mapping[str, TakeChecks | None],
          thresholds: Thresholds = Thresholds()) -> dict[str, CheckResult]:  # fmt: skip
    """The drift result of every continued shot whose chain's takes are measured."""
    parents = {job.shot: job.continue_from for job in jobs}
    labs = {shot: r.mean_lab for shot, r in records.items() if r is not None and r.mean_lab is not None}
    return {shot: result for shot, result in chain_drift(parents, labs, thresholds).items()
            if result.status is not Status.NOT_RUN}  # fmt: skip


@dataclass(frozen=True)
class CheckedTake:
    """One row of the ``check`` command: a take, its record, and (a film take) its chain's drift."""

    shot: str
    take: Take
    chosen: bool
    record: TakeChecks
    drift: CheckResult | None = None

    @property
    def results(self) -> list[CheckResult]:
        return [*self.record.results, *([self.drift] if self.drift else [])]

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAIL for r in self.results)

    def to_json(self) -> dict:
        return {"shot": self.shot, "take": self.take.n, "chosen": self.chosen, "failed": self.failed,
                "checks": self.record.to_json(), "drift": self.drift.to_json() if self.drift else None}  # fmt: skip
