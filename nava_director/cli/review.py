"""`nava-director review SB.yaml`: a local page to watch every take and pick the film's."""

from __future__ import annotations

import threading
import time
import webbrowser
from typing import Annotated, Optional

import typer

from nava_director.cli import app
from nava_director.cli.common import DebugOpt, EngineOpt, OutOpt, Output, SizeOpt, StoryboardArg, WeightsOpt, stdout
from nava_director.session import ProjectArgs

PortOpt = Annotated[
    Optional[int],
    typer.Option("--port", min=1, max=65535, help="Listen on this port (default: a free one).", show_default=False),
]
NoOpenOpt = Annotated[bool, typer.Option("--no-open", help="Print the URL only; do not open a browser.")]


def _open_when_ready(server, url: str) -> None:
    def wait() -> None:
        for _ in range(200):
            if server.server.started:
                webbrowser.open(url)
                return
            time.sleep(0.05)

    threading.Thread(target=wait, daemon=True).start()


@app.command()
def review(
    storyboard: StoryboardArg,
    port: PortOpt = None,
    no_open: NoOpenOpt = False,
    out_dir: OutOpt = None,
    engine: EngineOpt = None,
    weights: WeightsOpt = None,
    size: SizeOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Serve a page on 127.0.0.1 with the film and every take: play, pick, lock, make new takes."""
    from nava_director.review.adapter import ReviewProject
    from nava_director.review.server import ReviewServer

    def start() -> ReviewServer:
        project = ReviewProject(ProjectArgs(storyboard, out=out_dir, engine=engine, weights=weights, size=size))
        project.view()  # a broken storyboard is said here, before anything is served
        return ReviewServer(project, port)

    server = Output(debug=debug).run(start)
    stdout.print(f"review of {storyboard} at\n  {server.url}\n(Ctrl-C stops it)", markup=False)
    if not no_open:
        _open_when_ready(server, server.url)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn stops cleanly on Ctrl-C, then hands the signal on
        pass
    stdout.print("review stopped", markup=False)
