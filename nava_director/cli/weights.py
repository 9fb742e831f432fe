"""`nava-director weights download | check | quantize`: getting the NAVA weights and knowing they will load."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from nava_director.cli import app
from nava_director.cli.common import DebugOpt, JsonOpt, Output, stderr
from nava_director.errors import InputError
from nava_director.settings import load_settings

weights_app = typer.Typer(help="Download the NAVA weights, check a weights folder, quantize a DiT to fp8.",
                          no_args_is_help=True)  # fmt: skip
app.add_typer(weights_app, name="weights")

FolderArg = Annotated[
    Optional[Path],
    typer.Argument(help="The weights folder (default: the weights setting, NAVA_WEIGHTS).", show_default=False),
]
DitCheckOpt = Annotated[
    str, typer.Option("--dit", help="Which DiT file a render would use: auto | bf16 | fp8.")
]


def _folder(folder: Path | None) -> Path:
    if folder is not None:
        return folder
    settings = load_settings()
    if settings.weights is None:
        raise InputError("no weights folder given", hint="name one: nava-director weights check DIR (or set NAVA_WEIGHTS)")
    return settings.weights


@contextmanager
def _engine_errors():
    from engine.errors import EngineError

    try:
        yield
    except EngineError as error:
        raise InputError(error.message, hint=error.hint) from None


def _report_table(report) -> Table:
    table = Table(title=f"weights in {report.folder}")
    for column in ("component", "file", "size", "format", "dtype", "tensors", "fingerprint", ""):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        size = f"{row.size / 1e9:.2f} GB" if row.size and row.size >= 1e8 else (f"{row.size / 1e6:.1f} MB" if row.size else "")
        tensors = "" if row.tensors is None else (f"{row.tensors}/{row.expected}" if row.expected else str(row.tensors))
        status = "[green]ok[/]" if row.ok else "[red]problem[/]"
        name = row.component + ("" if row.chosen else " [dim](not used)[/]")
        path = row.path and (Path(row.path).relative_to(report.folder) if row.path.startswith(report.folder)
                             else row.path)  # fmt: skip
        table.add_row(name, str(path) if path else f"[dim]looked in {row.looked_in}[/]", size, row.format or "", row.dtype or "",
                      tensors, row.fingerprint or "", status)  # fmt: skip
    return table


def _show_report(out: Output, report) -> None:
    out.show(report.to_json(), lambda: _report_table(report))
    if not report.ok:
        for line in report.problems():
            stderr.print(line, markup=False, style="red")
        raise typer.Exit(2)


@weights_app.command()
def check(folder: FolderArg = None, dit: DitCheckOpt = "auto", as_json: JsonOpt = False,
          debug: DebugOpt = False) -> None:  # fmt: skip
    """Check a weights folder from the files' headers: one row per component; exit 2 with one line per problem."""
    out = Output(as_json, debug)

    def run():
        from engine.weights_check import check as check_folder

        with _engine_errors():
            return check_folder(_folder(folder), dit=dit)

    _show_report(out, out.run(run))


@weights_app.command()
def download(
    folder: FolderArg = None,
    fp8: Annotated[bool, typer.Option("--fp8", help="The fp8 DiT (7 GB) instead of the bf16 one (25 GB).")] = False,
    repo: Annotated[Optional[str], typer.Option("--repo", help="The Hugging Face repo (default: the weights_repo "
                                                "setting, ernie-research/NAVA).", show_default=False)] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Download the NAVA release and the ReDimNet speaker model into a folder (resumable), then check it."""
    from nava_director.weights.download import download as fetch

    out = Output(as_json, debug)
    settings = load_settings()
    target = folder or settings.weights or Path("nava-weights")
    bars = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    console=stderr, transient=True)  # fmt: skip
    tasks: dict[str, int] = {}

    def progress(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = bars.add_task(name, total=total)
        bars.update(tasks[name], completed=done, total=total)

    def run():
        with bars, _engine_errors():
            return fetch(target, repo_id=repo or settings.weights_repo, fp8=fp8, progress=progress)

    _show_report(out, out.run(run))


@weights_app.command()
def quantize(
    source: Annotated[Path, typer.Argument(help="The bf16/fp32 DiT (NAVA.safetensors or NAVA.ckpt).")],
    target: Annotated[Path, typer.Argument(help="The fp8 file to write (NAVA_fp8.safetensors).")],
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write the fp8 DiT (the released NAVA_fp8 format) from a bf16 one, tensor by tensor."""
    out = Output(as_json, debug)
    bars = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    console=stderr, transient=True)  # fmt: skip
    task = bars.add_task("quantizing", total=None)

    def run():
        from engine.fp8 import quantize_file

        if not source.is_file():
            raise InputError(f"{source}: no such file", hint="give the bf16 NAVA.safetensors")
        with bars, _engine_errors():
            return quantize_file(source, target, progress=lambda done, total: bars.update(task, completed=done,
                                                                                          total=total))  # fmt: skip

    stats = out.run(run)
    out.show({"target": str(target), **stats},
             f"[green]wrote[/] {target}: {stats['quantized_linears']} linears in fp8, "
             f"{stats['tensors_out']} tensors, {stats['bytes_out'] / 1e9:.2f} GB")  # fmt: skip
