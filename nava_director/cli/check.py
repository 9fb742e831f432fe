"""`nava-director check SB.yaml`: measure the takes (README "Take checks"); exit 1 when one fails."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table

from nava_director.checks.result import CheckResult, Status
from nava_director.checks.takes import CheckedTake
from nava_director.cli import app
from nava_director.cli.common import (
    AsrModelOpt,
    DebugOpt,
    JsonOpt,
    OutOpt,
    Output,
    StoryboardArg,
    WeightsOpt,
)
from nava_director.render.take_commands import check as check_takes
from nava_director.session import ProjectArgs, open_project

STYLE = {Status.PASS: "[green]pass[/]", Status.FAIL: "[bold red]fail[/]", Status.WARN: "[yellow]warn[/]",
         Status.NOT_RUN: "[dim]not run[/]"}  # fmt: skip


def _value(result: CheckResult) -> str:
    if result.value is None:
        return ""
    against = f" (limit {result.threshold:g})" if result.threshold is not None else ""
    return f"{result.value:g}{against}"


def _table(rows: list[CheckedTake]) -> Group:
    """One row per check that ran; the checks that did not run named on one row, their reasons
    said once under the table (the same reason repeats on every take of an engine)."""
    table = Table("shot", "take", "check", "result", "value", "reason")
    reasons: dict[str, list[str]] = {}
    for row in rows:
        label = f"{row.take.n:03d}" + (" (film)" if row.chosen else "")
        ran = [r for r in row.results if r.status is not Status.NOT_RUN]
        for i, result in enumerate(ran):
            table.add_row(row.shot if i == 0 else "", label if i == 0 else "", result.check, STYLE[result.status],
                          _value(result), result.reason)  # fmt: skip
        skipped = [r for r in row.results if r.status is Status.NOT_RUN]
        for result in skipped:
            if result.reason not in reasons.setdefault(result.check, []):
                reasons[result.check].append(result.reason)
        if skipped:
            names = ", ".join(r.check for r in skipped)
            table.add_row("" if ran else row.shot, "" if ran else label, f"[dim]{names}[/]", STYLE[Status.NOT_RUN])
        table.add_section()
    legend = [f"[dim]not run: {check}: {'; '.join(why)}[/]" for check, why in reasons.items()]
    return Group(table, *legend)


@app.command()
def check(
    storyboard: StoryboardArg,
    shot: Annotated[str | None, typer.Option("--shot", help="Only this shot.", show_default=False)] = None,
    all_takes: Annotated[bool, typer.Option("--all-takes", help="Every take, not only the film's.")] = False,
    asr_model: AsrModelOpt = None,
    out_dir: OutOpt = None,
    weights: WeightsOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Measure the film's take of every shot (or every take): speech, voice, words, picture, seam,
    drift, sound. Results are kept in each take's meta.json. Exit 1 when a check fails."""
    out = Output(as_json, debug)
    args = ProjectArgs(storyboard, out=out_dir, weights=weights, asr_model=asr_model)
    rows = out.run(lambda: check_takes(open_project(args), shot, all_takes))
    out.show([row.to_json() for row in rows], lambda: _table(rows) if rows else "no takes to check: render first")
    if any(row.failed for row in rows):
        raise typer.Exit(1)
