"""`nava-director write "IDEA" STORY.yaml`: draft a storyboard with an LLM, checked by `validate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nava_director.authoring.write import ROUNDS, open_drafter, write_storyboard
from nava_director.cli import app
from nava_director.cli.common import DebugOpt, JsonOpt, Output, VllmModelOpt, VllmUrlOpt, print_diagnostics, stderr
from nava_director.session import ProjectArgs
from nava_director.settings import load_settings


@app.command()
def write(
    idea: Annotated[str, typer.Argument(help="The idea or the story, in a sentence or a paragraph.",
                                        show_default=False)],
    storyboard: Annotated[Path, typer.Argument(help="The storyboard YAML file to write.", show_default=False,
                                               dir_okay=False)],
    shots: Annotated[Optional[int], typer.Option("--shots", min=1, max=60, help="About how many shots.",
                                                 show_default=False)] = None,
    cast: Annotated[Optional[Path], typer.Option("--cast", help="A casting file: its characters and voices "
                                                 "are used (else the characters are drafted, voices to cast).",
                                                 show_default=False, dir_okay=False)] = None,
    minutes: Annotated[Optional[float], typer.Option("--minutes", min=0.05, max=30, help="About how long the film is.",
                                                     show_default=False)] = None,
    rounds: Annotated[int, typer.Option(
        "--rounds", min=1, max=10, help="Drafts at most: each after the first is told the errors of the last.",
    )] = ROUNDS,
    temperature: Annotated[float, typer.Option(
        "--temperature", min=0, max=2, help="The model's sampling temperature.",
    )] = 0.7,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=1, help="A reply's token limit "
                                                      "(default: 600 + 400 a shot).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the storyboard if it exists.")] = False,
    vllm_url: VllmUrlOpt = None,
    vllm_model: VllmModelOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Draft a storyboard from an idea with Qwen3 through vLLM; exit 1 (the best draft kept) if it stays invalid."""
    def draft():
        args = ProjectArgs(storyboard, vllm_url=vllm_url, vllm_model=vllm_model)
        settings = load_settings(args.storyboard, args.flags())
        with open_drafter(settings, temperature=temperature) as drafter:
            return write_storyboard(idea, storyboard, drafter, shots=shots, minutes=minutes, cast=cast,
                                    rounds=rounds, max_tokens=max_tokens, force=force)

    out = Output(as_json, debug)
    written = out.run(draft)
    print_diagnostics(written.errors or written.warnings)
    if written.ok:
        sb = written.loaded.storyboard
        seconds = sum(shot.duration for _, shot in sb.shots())
        out.show(written.as_dict(),
                 f"[green]wrote[/] {storyboard}: {len(sb.scenes)} scene(s), {len(sb.shots())} shot(s), {seconds:g} s "
                 f"in {len(written.rounds)} round(s)")
        return
    if as_json:
        out.show(written.as_dict(), "")
    stderr.print(f"no valid storyboard after {len(written.rounds)} round(s); "
                 + (f"the best draft is {written.draft}" if written.errors else "no reply could be used"),
                 markup=False, style="bold red")
    raise typer.Exit(1)
