"""`takes`, `pick`, `lock`, `unlock`: list a shot's takes and choose which one the film uses."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from nava_director.cli import app
from nava_director.cli.common import (
    DebugOpt,
    EngineOpt,
    JsonOpt,
    OutOpt,
    Output,
    SizeOpt,
    StoryboardArg,
    WeightsOpt,
    DitOpt,
    VaeTilingOpt,
    stdout,
)
from nava_director.checks.takes import stored
from nava_director.render.decide import ShotState
from nava_director.render.take_commands import pick as pick_take
from nava_director.render.take_commands import set_locked, status
from nava_director.session import ProjectArgs, open_project

ShotArg = Annotated[str, typer.Argument(help="The shot id.", show_default=False)]


def _checks(take) -> dict | None:
    """The take's stored checks, as `takes` shows them (None: never checked)."""
    record = stored(take)
    if record is None:
        return None
    return {"version": record.version, "failed": record.failed, "warned": record.warned}


def _row(state: ShotState) -> dict:
    key = state.key.value if state.key else None
    takes = [{"n": t.n, "seed": t.seed, "current": t.key == key, "clip": str(t.clip), "checks": _checks(t)}
             for t in state.takes]  # fmt: skip
    return {
        "shot": state.job.shot,
        "status": state.status,
        "key": key,
        "chosen": state.chosen.n if state.chosen else None,
        "picked": state.entry.picked,
        "by_checks": state.entry.by_checks,
        "locked": state.entry.locked,
        "takes": takes,
    }


def _check_text(checks: dict | None) -> str:
    if checks is None:
        return "[dim]not checked[/]"
    if checks["failed"]:
        return f"[red]fails {', '.join(checks['failed'])}[/]"
    return "[yellow]passes, warns " + ", ".join(checks["warned"]) + "[/]" if checks["warned"] else "[green]passes[/]"


def _marks(row: dict, n: int) -> str:
    marks = [
        label
        for label, on in (
            ("chosen", n == row["chosen"]),
            ("picked", n == row["picked"]),
            ("chosen by the checks", n == row["by_checks"] and n == row["chosen"] and n != row["picked"]),
            ("locked", row["locked"] and n == row["chosen"]),
        )
        if on
    ]
    return " · ".join(marks)


def _table(rows: list[dict]) -> Table:
    table = Table("shot", "take", "seed", "made from", "checks", "")
    for row in rows:
        table.add_row(row["shot"], "", "", "", "", "" if row["takes"] else f"[yellow]{row['status']}[/] (no take)")
        for take in row["takes"]:
            made_from = "current inputs" if take["current"] else "[dim]older inputs[/]"
            table.add_row("", f"{take['n']:03d}", str(take["seed"]), made_from, _check_text(take["checks"]),
                          _marks(row, take["n"]))  # fmt: skip
        if row["takes"] and row["status"] == "stale":
            table.add_row("", "", "", "", "", "[yellow]stale: renders again[/]")
    return table


@app.command()
def takes(
    storyboard: StoryboardArg,
    shot: Annotated[str | None, typer.Argument(help="Only this shot.", show_default=False)] = None,
    out_dir: OutOpt = None,
    engine: EngineOpt = None,
    weights: WeightsOpt = None,
    dit: DitOpt = None,
    vae_tiling: VaeTilingOpt = None,
    size: SizeOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """List the takes of every shot (or one): seed, whether current, which one the film uses."""
    out = Output(as_json, debug)
    args = ProjectArgs(storyboard, out=out_dir, engine=engine, weights=weights, size=size, dit=dit,
                       vae_tiling=vae_tiling)
    states = out.run(lambda: status(open_project(args), shot))
    rows = [_row(s) for s in states]
    out.show(rows, lambda: _table(rows))


@app.command()
def pick(
    storyboard: StoryboardArg,
    shot: ShotArg,
    n: int,
    lock: Annotated[bool, typer.Option("--lock", help="Also lock it (needed for a take of older inputs).")] = False,
    out_dir: OutOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Use take N of SHOT in the film; the shots continued from it become stale."""
    args = ProjectArgs(storyboard, out=out_dir)
    take = Output(debug=debug).run(lambda: pick_take(open_project(args), shot, n, lock))
    stdout.print(f"{shot}: take {take.n:03d} (seed {take.seed}) chosen{' and locked' if lock else ''}", markup=False)


@app.command()
def lock(storyboard: StoryboardArg, shot: ShotArg, out_dir: OutOpt = None, debug: DebugOpt = False) -> None:
    """Keep SHOT's chosen take however its inputs change."""
    args = ProjectArgs(storyboard, out=out_dir)
    entry = Output(debug=debug).run(lambda: set_locked(open_project(args), shot, True))
    stdout.print(f"{shot}: take {entry.chosen:03d} locked", markup=False)


@app.command()
def unlock(storyboard: StoryboardArg, shot: ShotArg, out_dir: OutOpt = None, debug: DebugOpt = False) -> None:
    """Let SHOT follow its inputs again."""
    args = ProjectArgs(storyboard, out=out_dir)
    Output(debug=debug).run(lambda: set_locked(open_project(args), shot, False))
    stdout.print(f"{shot}: unlocked", markup=False)
