"""The `nava-director` command: a Typer app with one module per command group.

Commands only parse, open the project (``session.open_project``), call library functions
and print; their output and their errors, human or ``--json``, go through one
``common.Output``.
"""

from __future__ import annotations

import sys

import typer

try:  # Typer 0.2x carries its own copy of click; older releases use click itself
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click.exceptions import NoArgsIsHelpError, UsageError

app = typer.Typer(
    name="nava-director",
    help="Turn a YAML storyboard into a short film with synchronized picture and sound.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

from nava_director.cli.common import report_error  # noqa: E402
from nava_director.errors import InputError  # noqa: E402

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
    try:
        code = app(prog_name="nava-director", standalone_mode=False)
    except NoArgsIsHelpError as error:  # `nava-director` or a command with nothing: its help
        error.show()
        code = 2
    except UsageError as error:  # a malformed flag or argument: one line, like every other mistake
        command = error.ctx.command_path if error.ctx else "nava-director"
        report_error(InputError(error.format_message(), hint=f"see `{command} --help`"), "--json" in sys.argv)
        code = 2
    except typer.Abort:  # Ctrl-C while Typer itself waits
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
