"""The one error type a user sees, and the storyboard diagnostics it can carry.

Library code raises :class:`NavaError` (or a subclass); the CLI formats it in one place
(``nava_director/cli/common.py``) with the exit code it names. No traceback unless --debug.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """``PATH:LINE:COL: WHERE: WHAT (FIX)`` — one problem at one place in a file."""

    path: str  # as the user gave it
    line: int  # 1-based
    col: int  # 1-based
    where: str  # field path, e.g. scenes[0].shots[1].duration
    what: str
    fix: str | None = None
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        fix = f" ({self.fix})" if self.fix else ""
        tag = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{self.col}: {tag}{self.where}: {self.what}{fix}"


class NavaError(Exception):
    """A problem the user can act on. ``exit_code``: 2 bad input, 1 a render that failed."""

    exit_code = 1
    stops_run = False  # True: a render ends here instead of recording one failed shot (all would fail alike)

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(NavaError):
    """Bad input: a storyboard, casting file, flag or config value. Exit code 2."""

    exit_code = 2


class StoryboardError(InputError):
    """Every diagnostic of one load, reported at once."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in the storyboard")
