"""What every command shares: option types, the one error formatter, output.

The shape follows the ``hf`` CLI: options are ``Annotated`` types declared once here and
reused in each command's signature; a command body is
``out.run(lambda: ...)`` around library calls, then ``out.show(...)`` (:class:`Output`).
"""

from __future__ import annotations

import json
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from rich.console import Console, RenderableType

from nava_director.errors import Diagnostic, NavaError, StoryboardError

T = TypeVar("T")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

StoryboardArg = Annotated[
    Path, typer.Argument(help="The storyboard YAML file.", show_default=False, dir_okay=False)
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")]
OutOpt = Annotated[
    Optional[Path],
    typer.Option("--out", "-o", help="Project folder (default: <storyboard>.nava beside it).",
                 show_default=False),
]
WeightsOpt = Annotated[
    Optional[Path],
    typer.Option("--weights", help="NAVA weights folder (or env NAVA_WEIGHTS).", show_default=False),
]
EngineOpt = Annotated[
    Optional[str],
    typer.Option("--engine", help="auto | nava | animatic (auto: nava when weights are configured).",
                 show_default=False),
]
RewriterOpt = Annotated[
    Optional[str],
    typer.Option("--rewriter", help="Caption writer: auto | template | vllm | transformers.",
                 show_default=False),
]
VllmUrlOpt = Annotated[
    Optional[str],
    typer.Option("--vllm-url", help="A running OpenAI-compatible server (or env NAVA_VLLM_URL).",
                 show_default=False),
]
VllmModelOpt = Annotated[
    Optional[str],
    typer.Option("--vllm-model", help="The rewriter model: served at --vllm-url, or a model to start a "
                 "vLLM server with (a local folder for --rewriter transformers).", show_default=False),
]
DitOpt = Annotated[
    Optional[str],
    typer.Option("--dit", help="Which DiT file: auto | bf16 | fp8 (auto: by the GPU's memory, fixed at the "
                 "project's first render).", show_default=False),
]
OffloadOpt = Annotated[
    Optional[str],
    typer.Option("--offload", help="What waits off the GPU: auto | none | encoders | blocks (auto: the least "
                 "that fits).", show_default=False),
]
VaeTilingOpt = Annotated[
    Optional[bool],
    typer.Option("--vae-tiling/--no-vae-tiling", help="Decode the video in tiles (less GPU memory).",
                 show_default=False),
]
SizeOpt = Annotated[
    Optional[str],
    typer.Option("--size", help="Render at WIDTHxHEIGHT instead of the format's size, e.g. 640x352.",
                 show_default=False),
]


AsrModelOpt = Annotated[
    Optional[Path],
    typer.Option("--asr-model", help="A Whisper-family model folder for the words check (without one it does "
                 "not run).", show_default=False),
]


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """One ``PATH:LINE:COL: WHERE: WHAT (FIX)`` per line on stderr, never wrapped or marked up."""
    for d in diagnostics:
        stderr.print(str(d), markup=False, style="yellow" if d.severity == "warning" else "red")


def report_error(error: NavaError, as_json: bool = False) -> None:
    """The one place a NavaError becomes text: lines on stderr, and with ``--json`` the same
    as data on stdout (``error``, ``hint``, ``exit_code``, ``diagnostics``)."""
    if as_json:
        diagnostics = getattr(error, "diagnostics", [])
        data = {"error": error.message, "hint": error.hint, "exit_code": error.exit_code,
                "diagnostics": [asdict(d) for d in diagnostics]}
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    if isinstance(error, StoryboardError):
        print_diagnostics(error.diagnostics)
        stderr.print(error.message, markup=False, style="bold red")
        return
    stderr.print(f"error: {error.message}", markup=False, style="bold red")
    if error.hint:
        stderr.print(f"hint: {error.hint}", markup=False)


@dataclass(frozen=True)
class Output:
    """How a command answers: human text, or ``--json``, for its result and its errors alike.

    A command builds one (``Output(as_json, debug)``), calls library code through
    :meth:`run` and prints with :meth:`show`: the JSON choice is made once, for both."""

    as_json: bool = False
    debug: bool = False

    def run(self, action: Callable[[], T]) -> T:
        """Call ``action``; a NavaError is reported and ends the command with its exit code."""
        try:
            return action()
        except NavaError as error:
            if self.debug:
                stderr.print(traceback.format_exc(), markup=False)
            report_error(error, self.as_json)
            raise typer.Exit(error.exit_code) from None

    def show(self, data: Any, human: RenderableType | Callable[[], RenderableType]) -> None:
        """``data`` as JSON on stdout with ``--json``, else the human view (a rich renderable)."""
        if self.as_json:
            typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
            return
        stdout.print(human() if callable(human) else human)
