"""`nava-director validate SB.yaml`: check a storyboard and its casting file."""

from __future__ import annotations

from nava_director.cli import app
from nava_director.cli.common import DebugOpt, JsonOpt, Output, StoryboardArg, print_diagnostics
from nava_director.storyboard.load import load_storyboard


@app.command()
def validate(storyboard: StoryboardArg, as_json: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Check a storyboard: every error as PATH:LINE:COL: WHERE: WHAT (FIX), exit code 2."""
    out = Output(as_json, debug)
    loaded = out.run(lambda: load_storyboard(storyboard))
    print_diagnostics(loaded.warnings)
    sb = loaded.storyboard
    shots = sb.shots()
    seconds = sum(shot.duration for _, shot in shots)
    summary = {
        "storyboard": str(storyboard),
        "title": loaded.title,
        "scenes": len(sb.scenes),
        "shots": len(shots),
        "seconds": seconds,
        "characters": sorted(sb.characters),
        "warnings": [str(w) for w in loaded.warnings],
    }
    human = (f"[green]ok[/]: {storyboard}: {loaded.title}: {len(sb.scenes)} scene(s), {len(shots)} shot(s), "
             f"{seconds:g} s, {len(sb.characters)} character(s), {len(loaded.warnings)} warning(s)")
    out.show(summary, human)
