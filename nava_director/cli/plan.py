"""`nava-director plan SB.yaml`: what `render` will do, shot by shot, and with which engine."""

from __future__ import annotations

from rich.table import Table

from nava_director.captions.write import WriterPlan, plan_writer
from nava_director.cli import app
from nava_director.cli._common import (
    DebugOpt,
    EngineOpt,
    JsonOpt,
    OutOpt,
    RewriterOpt,
    SizeOpt,
    StoryboardArg,
    VllmModelOpt,
    VllmUrlOpt,
    WeightsOpt,
    output,
    print_diagnostics,
    run,
)
from nava_director.config import choose_engine, load_settings
from nava_director.loader import load_storyboard
from nava_director.plan import RenderPlan, make_plan
from nava_director.store import Project
from nava_director.storyboard import RENDER_FPS


def _writer_line(writers: WriterPlan) -> str:
    line = f"captions: {writers.writer} — {writers.reason}"
    if writers.renders_again:
        line += (f"; the takes were made with {writers.recorded} captions, so {len(writers.renders_again)} shot(s)"
                 f" will render again ({', '.join(writers.renders_again)})")
    return line


def _table(plan: RenderPlan, engine: str, reason: str, size: tuple[int, int], writers: WriterPlan) -> Table:
    sb = plan.storyboard.storyboard
    title = f"{plan.storyboard.title} — {sb.format.aspect} {size[0]}×{size[1]}, film at {sb.format.fps} fps"
    table = Table(title=title,
                  caption=f"engine: {engine} — {reason}\n{_writer_line(writers)}", show_footer=True)
    table.add_column("scene", footer="total")
    table.add_column("shot", footer=f"{len(plan.jobs)} shots")
    table.add_column("duration", justify="right", footer=f"{plan.seconds:g} s")
    table.add_column(f"frames @{RENDER_FPS}", justify="right", footer=f"{plan.frames} ({plan.render_seconds:.2f} s)")
    table.add_column("speakers")
    table.add_column("continues from / image")
    table.add_column("engine")
    names = {cid: c.name or cid for cid, c in sb.characters.items()}
    for job in plan.jobs:
        first = job.continue_from or (job.image.name if job.image else "")
        table.add_row(job.scene, job.shot, f"{job.seconds:g} s", str(job.frames),
                      ", ".join(names[s] for s in job.speakers), first, engine)
    return table


@app.command()
def plan(
    storyboard: StoryboardArg,
    weights: WeightsOpt = None,
    engine: EngineOpt = None,
    size: SizeOpt = None,
    rewriter: RewriterOpt = None,
    vllm_url: VllmUrlOpt = None,
    vllm_model: VllmModelOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show the render plan: shots in render order, lengths, speakers, continuations, engine, caption writer."""

    def build():
        flags = {"weights": weights, "engine": engine, "size": size, "rewriter": rewriter, "vllm_url": vllm_url,
                 "vllm_model": vllm_model, "out": out}
        settings = load_settings(storyboard, flags)
        render_plan = make_plan(load_storyboard(storyboard))
        manifest = Project(settings.project_dir(storyboard)).manifest()
        with_takes = manifest.unlocked_with_takes([job.shot for job in render_plan.film])
        return render_plan, settings, plan_writer(settings.rewriter, settings, manifest.writer, with_takes)

    render_plan, settings, writers = run(build, debug=debug, as_json=as_json)
    chosen, reason = choose_engine(settings)
    frame_size = settings.size or render_plan.storyboard.storyboard.format.size
    print_diagnostics(render_plan.storyboard.warnings)
    data = {
        "storyboard": str(storyboard),
        "engine": {"name": chosen, "reason": reason},
        "captions": writers.as_dict(),
        "size": list(frame_size),
        **render_plan.as_dict(),
    }
    output(data, as_json, lambda: _table(render_plan, chosen, reason, frame_size, writers))
