"""`nava-director render SB.yaml`: render what changed, make new takes, cut the film."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from nava_director.cli import app
from nava_director.cli.common import (
    AsrModelOpt,
    DebugOpt,
    EngineOpt,
    JsonOpt,
    OutOpt,
    Output,
    RewriterOpt,
    SizeOpt,
    StoryboardArg,
    VllmModelOpt,
    VllmUrlOpt,
    WeightsOpt,
    DitOpt,
    OffloadOpt,
    VaeTilingOpt,
    print_diagnostics,
    stderr,
)
from nava_director.cli.progress import RankProgress, RichProgress
from nava_director.project.report import Film, Report
from nava_director.render.jobs import RenderOptions
from nava_director.render.launch import in_torchrun, render_on_gpus
from nava_director.render.run import render as render_storyboard
from nava_director.session import ProjectArgs, open_project

ShotOpt = Annotated[
    list[str] | None,
    typer.Option("--shot", help="Make new takes of this shot (repeatable).", show_default=False),
]
TakesOpt = Annotated[
    int | None,
    typer.Option("--takes", help="New takes per shot; the film keeps its take until you `pick` one.",
                 show_default=False),
]
SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", help="Seed of the first new take (default: the next unused).", show_default=False),
]
LoudnessOpt = Annotated[
    float | None,
    typer.Option("--loudness", help="The film's loudness target, LUFS (default -16).", show_default=False),
]
CrfOpt = Annotated[
    int | None,
    typer.Option("--crf", help="H.264 quality, 0-51, lower is better (default 18).", show_default=False),
]
BurnOpt = Annotated[
    bool | None,
    typer.Option("--burn-subtitles/--soft-subtitles", help="Draw the subtitles into the picture, or mux them as a "
                 "track (default).", show_default=False),
]
StepsOpt = Annotated[
    int | None, typer.Option("--steps", help="Sampling steps (default: the storyboard's).", show_default=False)
]
GpusOpt = Annotated[
    int, typer.Option("--gpus", min=1, help="Start this many ranks, one per GPU (CPU: processes over gloo).")
]
CheckOpt = Annotated[
    bool | None,
    typer.Option("--check/--no-check", help="Measure every new take (README: Take checks); the checks never "
                 "change the exit code.", show_default=False),
]
RetakeOpt = Annotated[
    int | None,
    typer.Option("--retake", min=0, help="Render a new take that fails a check again with the next seed, up to "
                 "N more times; the best take by the checks is used (default 0).", show_default=False),
]
SpOpt = Annotated[
    int, typer.Option("--sp", min=1, help="Split each shot over this many of the --gpus ranks (Ulysses).")
]


def checks_summary(report: Report) -> str:
    """The checks of the film's takes in words: how many shots pass, what failed, what the retakes did."""
    notes = report.checks
    failing = {shot: note for shot, note in notes.items() if note.failed}
    passing = [shot for shot in notes if shot not in failing]
    words = [f"{len(passing)} of {len(notes)} checked shot(s) pass" + (f" ({', '.join(passing)})" if passing else "")]
    for shot, note in failing.items():
        words.append(f"{shot} (take {note.take:03d}) fails {', '.join(note.failed)}")
    for shot, note in notes.items():
        if note.retakes:
            outcome = "passes" if not note.failed else "is the best of them"
            words.append(f"{shot}: {note.retakes} retake(s), take {note.take:03d} {outcome}")
    warned = [shot for shot, note in notes.items() if note.warned]
    if warned:
        words.append(f"worth a look: {', '.join(warned)}")
    return "; ".join(words)


def _summary(report: Report) -> Table:
    table = Table(show_header=False, box=None)
    if not report.rendered and not report.failed:
        reused = isinstance(report.film, Film) and not report.film.cut
        film = "film up to date, not cut again" if reused else "film cut anew"
        table.add_row("nothing changed", f"{len(report.reused)} shot(s) reused, nothing rendered; {film}")
    for label, shots in (
        ("rendered", report.rendered),
        ("reused", report.reused),
        ("stale", report.stale),
        ("locked", report.locked),
    ):
        if shots:
            table.add_row(label, ", ".join(shots))
    first_with: dict[str, str] = {}  # an engine that cannot load fails every shot the same way: say it once
    for failure in report.failed:
        error = first_with.setdefault(failure.error, failure.shot)
        said = failure.error if error == failure.shot else f"the same error as {error}"
        table.add_row("[red]failed[/]", f"{failure.shot}: {said}")
    for shot_id, numbers in report.new_takes.items():
        takes = ", ".join(f"{n:03d}" for n in numbers)
        table.add_row("new takes", f"{shot_id}: {takes} (not in the film until you `pick` one)")
    if report.checks:
        table.add_row("checks", checks_summary(report))
    for note in report.set_aside:
        table.add_row("[yellow]set aside[/]", note)
    if isinstance(report.film, Film):
        table.add_row("film", report.film.path)
    elif report.failed:
        table.add_row("film", f"not cut: {len(report.failed)} shot(s) have no take")
    table.add_row("time", f"{report.timings.get('total_s', 0):.1f} s")
    return table


@app.command()
def render(
    storyboard: StoryboardArg,
    shot: ShotOpt = None,
    takes: TakesOpt = None,
    seed: SeedOpt = None,
    engine: EngineOpt = None,
    out_dir: OutOpt = None,
    size: SizeOpt = None,
    rewriter: RewriterOpt = None,
    vllm_url: VllmUrlOpt = None,
    vllm_model: VllmModelOpt = None,
    weights: WeightsOpt = None,
    dit: DitOpt = None,
    offload: OffloadOpt = None,
    vae_tiling: VaeTilingOpt = None,
    steps: StepsOpt = None,
    loudness: LoudnessOpt = None,
    crf: CrfOpt = None,
    burn_subtitles: BurnOpt = None,
    check: CheckOpt = None,
    retake: RetakeOpt = None,
    asr_model: AsrModelOpt = None,
    gpus: GpusOpt = 1,
    sp: SpOpt = 1,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Render the storyboard: only what changed, new takes where asked, then the film."""

    out = Output(as_json, debug)
    args = ProjectArgs(storyboard, engine=engine, weights=weights, out=out_dir, size=size, rewriter=rewriter,
                       vllm_url=vllm_url, vllm_model=vllm_model, loudness=loudness, crf=crf,
                       burn_subtitles=burn_subtitles, checks=check, retake=retake, asr_model=asr_model,
                       steps=steps, dit=dit, offload=offload, vae_tiling=vae_tiling)

    def go() -> Report | None:
        session = open_project(args)
        print_diagnostics(session.loaded.warnings)
        options = RenderOptions(shots=tuple(shot or ()), takes=takes, seed=seed)
        if gpus > 1 or sp > 1 or in_torchrun():
            return render_on_gpus(session, options, gpus, sp, RankProgress)
        with RichProgress(stderr) as progress:
            return render_storyboard(session, options, progress)

    report = out.run(go)
    if report is None:  # a rank other than 0 of a torchrun world: rank 0 reports
        return
    out.show(report.model_dump(mode="json"), lambda: _summary(report))
    if report.failed:
        raise typer.Exit(1)
