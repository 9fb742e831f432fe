"""A check's result: a value, pass / fail / warn / not run, and the reason in words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"  # worth a look, not a failure (speech where nobody speaks)
    NOT_RUN = "not-run"  # no model, or the check does not apply: neither a pass nor a fail


@dataclass(frozen=True)
class CheckResult:
    check: str  # the check's name, e.g. "speech"
    status: Status
    reason: str  # in words, always: why it passed, failed or did not run
    value: float | None = None  # the measure (None when not run)
    threshold: float | None = None  # what the value is held against
    unit: str = ""  # of value and threshold
    lines: list[dict[str, Any]] = field(default_factory=list)  # per dialogue line, for the line checks

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        if not self.lines:
            del data["lines"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(**{**data, "status": Status(data["status"])})


def not_run(check: str, reason: str) -> CheckResult:
    return CheckResult(check, Status.NOT_RUN, reason)


def judged(check: str, ok: bool, value: float, threshold: float, unit: str, passed: str, failed: str,
           lines: list[dict[str, Any]] | None = None) -> CheckResult:  # fmt: skip
    """A pass with the ``passed`` reason or a fail with the ``failed`` one."""
    return CheckResult(check, Status.PASS if ok else Status.FAIL, passed if ok else failed, round(value, 4),
                       threshold, unit, lines or [])  # fmt: skip
