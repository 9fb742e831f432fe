"""`nava-director import SCRIPT.fountain STORY.yaml`: a Fountain screenplay to a storyboard.

``import`` is a Python keyword: the command is registered by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nava_director.authoring.screenplay import import_fountain
from nava_director.cli import app
from nava_director.cli.common import DebugOpt, JsonOpt, Output, print_diagnostics


@app.command("import")
def import_script(
    script: Annotated[Path, typer.Argument(help="The screenplay, in Fountain (.fountain).", show_default=False,
                                           dir_okay=False)],
    storyboard: Annotated[Path, typer.Argument(help="The storyboard YAML file to write.", show_default=False,
                                               dir_okay=False)],
    cast: Annotated[Optional[Path], typer.Option("--cast", help="The casting file to write or extend "
                                                 "(default: <storyboard>.cast.yaml beside it).",
                                                 show_default=False, dir_okay=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the storyboard if it exists.")] = False,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Turn a Fountain screenplay into a storyboard and a casting file to fill in."""
    out = Output(as_json, debug)
    imported = out.run(lambda: import_fountain(script, storyboard, cast, force=force))
    print_diagnostics(imported.warnings)
    sb = imported.loaded.storyboard
    seconds = sum(shot.duration for _, shot in sb.shots())
    summary = {"storyboard": str(storyboard), "casting": str(imported.casting), "scenes": len(sb.scenes),
               "shots": len(sb.shots()), "seconds": seconds, "characters": sorted(sb.characters),
               "warnings": [str(w) for w in imported.warnings]}
    out.show(summary, f"[green]wrote[/] {storyboard}: {len(sb.scenes)} scene(s), {len(sb.shots())} shot(s), "
                      f"{seconds:g} s; cast the voices in {imported.casting}")
