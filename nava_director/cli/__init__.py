"""The `nava-director` command: a Typer app with one module per command group.

Commands only parse, open the project (``session.open_project``), call library functions
and print; their output and their errors, human or ``--json``, go through one
``common.Output``.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="nava-director",
    help="Turn a YAML storyboard into a short film with synchronized picture and sound.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# each command module registers itself on `app` when imported
from nava_director.cli import (  # noqa: E402,F401
    captions, check, import_script, plan, render, review, takes, validate, weights, write,
)


def main() -> None:
    # a terminal or pipe that cannot show a character (PYTHONIOENCODING=ascii, a C locale)
    # gets it escaped rather than an encode error in the middle of the output
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    app()
