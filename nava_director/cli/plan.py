"""`nava-director plan SB.yaml`: what `render` will do, shot by shot, and with which engine."""

from __future__ import annotations

from rich.table import Table

from nava_director.captions.write import WriterPlan, plan_writer
from nava_director.cli import app
from nava_director.cli.common import (
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
)
from nava_director.render.shape import shot_size
from nava_director.session import ProjectArgs, open_project
from nava_director.settings import choose_engine
from nava_director.storyboard.model import RENDER_FPS
from nava_director.storyboard.plan import RenderPlan
from nava_director.weights.plan import WeightsPlan, plan_weights


def _writer_line(writers: WriterPlan) -> str:
    line = f"captions: {writers.writer} — {writers.reason}"
    if writers.renders_again:
        line += (f"; the takes were made with {writers.recorded} captions, so {len(writers.renders_again)} shot(s)"
                 f" will render again ({', '.join(writers.renders_again)})")
    return line


def _table(plan: RenderPlan, engine: str, reason: str, size: tuple[int, int], writers: WriterPlan,
           weights: WeightsPlan | None = None) -> Table:  # fmt: skip
    sb = plan.storyboard.storyboard
    title = f"{plan.storyboard.title} — {sb.format.aspect} {size[0]}×{size[1]}, film at {sb.format.fps} fps"
    caption = f"engine: {engine} — {reason}\n{_writer_line(writers)}" + (f"\n{weights.line()}" if weights else "")
    table = Table(title=title, caption=caption, show_footer=True)
    table.add_column("scene", footer="total")
    table.add_column("shot", footer=f"{len(plan.jobs)} shots")
    table.add_column("duration", justify="right", footer=f"{plan.seconds:g} s")
    table.add_column(f"frames @{RENDER_FPS}", justify="right", footer=f"{plan.frames} ({plan.render_seconds:.2f} s)")
    table.add_column("speakers")
    table.add_column("continues from / image")
    table.add_column("engine")
    if weights:
        table.add_column("GPU peak (est.)", justify="right")
    names = {cid: c.name or cid for cid, c in sb.characters.items()}
    for job in plan.jobs:
        first = job.continue_from or (job.image.name if job.image else "")
        peak = [f"{weights.peak_gb[job.shot]:g} GB" if job.shot in weights.peak_gb else "?"] if weights else []
        table.add_row(job.scene, job.shot, f"{job.seconds:g} s", str(job.frames),
                      ", ".join(names[s] for s in job.speakers), first, engine, *peak)
    return table


@app.command()
def plan(
    storyboard: StoryboardArg,
    weights: WeightsOpt = None,
    dit: DitOpt = None,
    offload: OffloadOpt = None,
    vae_tiling: VaeTilingOpt = None,
    engine: EngineOpt = None,
    size: SizeOpt = None,
    rewriter: RewriterOpt = None,
    vllm_url: VllmUrlOpt = None,
    vllm_model: VllmModelOpt = None,
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show the render plan: shots in render order, lengths, speakers, continuations, engine, caption writer."""

    out = Output(as_json, debug)
    args = ProjectArgs(storyboard, weights=weights, engine=engine, size=size, rewriter=rewriter, vllm_url=vllm_url,
                       vllm_model=vllm_model, out=out_dir, dit=dit, offload=offload, vae_tiling=vae_tiling)

    def build():
        session = open_project(args)
        manifest = session.project.manifest()
        with_takes = manifest.unlocked_with_takes([job.shot for job in session.plan.film])
        settings = session.settings
        size = shot_size(settings, session.loaded, session.engine)  # what `render` renders at
        weights_plan = plan_weights(session, manifest, size)
        return session, size, plan_writer(settings.rewriter, settings, manifest.writer, with_takes), weights_plan

    session, frame_size, writers, weights_plan = out.run(build)
    render_plan = session.plan
    chosen, reason = choose_engine(session.settings)
    print_diagnostics(render_plan.storyboard.warnings)
    data = {
        "storyboard": str(storyboard),
        "engine": {"name": chosen, "reason": reason},
        "captions": writers.as_dict(),
        "size": list(frame_size),
        "weights": weights_plan.as_dict() if weights_plan else None,
        **render_plan.as_dict(),
    }
    out.show(data, lambda: _table(render_plan, chosen, reason, frame_size, writers, weights_plan))
