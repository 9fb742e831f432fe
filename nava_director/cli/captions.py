"""`nava-director captions SB.yaml`: each shot's caption, as the engine will get it."""

from __future__ import annotations

from dataclasses import asdict

from rich.console import Group
from rich.text import Text

from nava_director.captions import write_captions
from nava_director.cli import app
from nava_director.cli._common import (
    DebugOpt, JsonOpt, OutOpt, RewriterOpt, StoryboardArg, VllmModelOpt, VllmUrlOpt, output, run,
)
from nava_director.config import load_settings
from nava_director.loader import load_storyboard
from nava_director.store import Project

JSON_FIELDS = ("caption", "writer", "requested", "fallback")


@app.command()
def captions(
    storyboard: StoryboardArg,
    rewriter: RewriterOpt = None,
    vllm_url: VllmUrlOpt = None,
    vllm_model: VllmModelOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write every shot's dense caption (spans as <S>words<E>); cached in the project folder."""

    def write():
        loaded = load_storyboard(storyboard)
        flags = {"rewriter": rewriter, "vllm_url": vllm_url, "vllm_model": vllm_model, "out": out}
        settings = load_settings(storyboard, flags)
        project = Project(settings.project_dir(storyboard))
        manifest = project.manifest()
        return write_captions(loaded, settings=settings, cache_dir=project.root / "captions",
                              recorded_writer=manifest.writer, recorded_model=manifest.caption_model)

    results = run(write, debug=debug, as_json=as_json)
    rows = [{"shot": shot, **{k: asdict(r)[k] for k in JSON_FIELDS}} for shot, r in results.items()]

    def view() -> Group:
        blocks = []
        for row in rows:
            note = f" (fallback from {row['requested']})" if row["fallback"] else ""
            blocks += [Text.assemble((row["shot"], "bold"), f"  {row['writer']}", (note, "yellow")),
                       Text(row["caption"]), Text()]
        return Group(*blocks)

    output(rows, as_json, view)
