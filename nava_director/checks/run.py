"""Run every check on a take; the record that is stored in the take's meta.json."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from nava_director.checks import (
    blank,
    clipping,
    dc_offset,
    flicker,
    frozen,
    loudness,
    seam,
    silence,
    speech,
    stray_speech,
    voice,
    words,
)
from nava_director.checks.check import GENERATED, Check, TakeContext, engine_family
from nava_director.checks.drift import mean_lab
from nava_director.checks.result import CheckResult, Status, not_run
from nava_director.errors import NavaError

CHECKS_VERSION = 1  # bump when a check or threshold changes what it says: stored results are then measured again
CHECKS: tuple[Check, ...] = tuple(
    m.CHECK for m in (speech, stray_speech, voice, words, blank, frozen, flicker, seam, clipping, silence, dc_offset,
                      loudness)  # fmt: skip
)


@dataclass
class TakeChecks:
    """A take's check results, as stored under ``"checks"`` in its meta.json."""

    results: list[CheckResult]
    version: int = CHECKS_VERSION
    asr_model: str | None = None  # the --asr-model the words check ran with (None: it did not)
    mean_lab: list[float] | None = None  # the take's mean colour, for the chain's drift check
    seconds: float = 0.0  # what measuring took
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [r.check for r in self.results if r.status is Status.FAIL]

    @property
    def warned(self) -> list[str]:
        return [r.check for r in self.results if r.status is Status.WARN]

    def result(self, name: str) -> CheckResult | None:
        return next((r for r in self.results if r.check == name), None)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "asr_model": self.asr_model, "mean_lab": self.mean_lab,
                "seconds": round(self.seconds, 3), "failed": self.failed,
                "results": [r.to_json() for r in self.results]}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TakeChecks:
        return cls([CheckResult.from_json(r) for r in data.get("results", [])], data.get("version", 0),
                   data.get("asr_model"), data.get("mean_lab"), data.get("seconds", 0.0))  # fmt: skip

    def current(self, asr_model: str | None) -> bool:
        """Whether these results can be reused: the same checks' version, the same ASR model."""
        return self.version == CHECKS_VERSION and self.asr_model == asr_model


def run_check(check: Check, ctx: TakeContext) -> CheckResult:
    """One check on a take: not run where its engine is not one it applies to, or where it cannot run."""
    if engine_family(ctx.engine) not in check.engines:
        return not_run(check.name, check.why_not or f"does not apply to the {engine_family(ctx.engine)} engine")
    try:
        return check.measure(ctx)
    except NavaError as error:
        return not_run(check.name, f"could not run: {error.message}")
    except Exception as error:  # a measurement that breaks never breaks the render it checks
        return not_run(check.name, f"could not run: {type(error).__name__}: {error}")


def check_take(ctx: TakeContext) -> TakeChecks:
    began = time.perf_counter()
    results = [run_check(check, ctx) for check in CHECKS]
    try:
        generated = engine_family(ctx.engine) in GENERATED
        colour = mean_lab(ctx.media.frames) if generated and len(ctx.media.frames) else None
    except Exception:  # an undecodable picture: its checks said so already
        colour = None
    asr = ctx.models.asr_model.name if ctx.models.asr_model is not None else None
    return TakeChecks(results, asr_model=asr, mean_lab=colour, seconds=time.perf_counter() - began)
