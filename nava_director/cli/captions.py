"""`nava-director captions SB.yaml`: each shot's caption, as the engine will get it."""

from __future__ import annotations

from dataclasses import asdict

from rich.console import Group
from rich.text import Text

from nava_director.cli import app
from nava_director.cli.common import (
    DebugOpt,
    JsonOpt,
    OutOpt,
    Output,
    RewriterOpt,
    StoryboardArg,
    VllmModelOpt,
    VllmUrlOpt,
)
from nava_director.session import ProjectArgs, open_project

JSON_FIELDS = ("caption", "writer", "requested", "fallback")


@app.command()
def captions(
    storyboard: StoryboardArg,
    rewriter: RewriterOpt = None,
    vllm_url: VllmUrlOpt = None,
    vllm_model: VllmModelOpt = None,
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write every shot's dense caption (spans as <S>words<E>); cached in the project folder."""
    out = Output(as_json, debug)
    args = ProjectArgs(storyboard, rewriter=rewriter, vllm_url=vllm_url, vllm_model=vllm_model, out=out_dir)

    def write():
        session = open_project(args)
        return session.captions(session.project.manifest())

    results = out.run(write)
    rows = [{"shot": shot, **{k: asdict(r)[k] for k in JSON_FIELDS}} for shot, r in results.items()]

    def view() -> Group:
        blocks = []
        for row in rows:
            note = f" (fallback from {row['requested']})" if row["fallback"] else ""
            blocks += [Text.assemble((row["shot"], "bold"), f"  {row['writer']}", (note, "yellow")),
                       Text(row["caption"]), Text()]
        return Group(*blocks)

    out.show(rows, view)
