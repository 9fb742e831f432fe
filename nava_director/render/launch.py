"""Starting the ranks of a ``render --gpus N --sp K``, or joining a torchrun world.

On one machine ``render_on_gpus`` starts N ranks itself (torchrun's launcher: one command
for the user); under ``torchrun`` (several nodes) the ranks already exist and each process
is one of them. Each rank opens the project from what the user asked and the settings the
first process resolved, and plays its part (``render/parallel.py``). A run with nothing
to render stays in this process: no ranks, no torch.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from nava_director.errors import InputError, NavaError
from nava_director.progress import Progress
from nava_director.project.report import Report
from nava_director.render.decide import states
from nava_director.render.jobs import RenderOptions
from nava_director.render.parallel import Ranks, Topology
from nava_director.render.run import render
from nava_director.render.shape import shape_of
from nava_director.session import ProjectArgs, Session
from nava_director.settings import Settings

ProgressFactory = Callable[[int], Progress]  # rank -> the display of the shots that rank leads


def in_torchrun() -> bool:
    """Whether this process is one rank of a world torchrun started."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def up_to_date(session: Session) -> bool:
    """Whether a render would reuse every shot's take (decided as ``render`` decides: at the
    shape of this run, not of the last one)."""
    manifest = session.project.manifest()
    captions = session.captions(manifest, cached_only=True)
    found = states(session.plan, session.project, manifest, captions, shape_of(session))
    return all(state.chosen is not None for state in found)


def rank_main(
    args: ProjectArgs,
    settings: Settings,
    options: RenderOptions,
    sp: int,
    progress: ProgressFactory | None = None,
) -> Report | NavaError | None:
    """One rank's whole life: rank 0 returns the report (or the NavaError that stopped it)."""
    try:
        ranks = Ranks(Session.open(args, settings), options, sp)
    except NavaError as error:
        return error
    try:
        leads = ranks.topology.is_leader and progress is not None
        return ranks.run(progress(ranks.topology.rank) if leads else None)
    except NavaError as error:
        return error
    finally:
        ranks.close()


def render_on_gpus(
    session: Session, options: RenderOptions, gpus: int, sp: int = 1, progress: ProgressFactory | None = None
) -> Report | None:
    """Render over ``gpus`` ranks in groups of ``sp``: started here on this machine, or, under
    torchrun, as this process's rank (rank 0 returns the report, the other ranks None).

    ``progress`` must pickle (a class, say): each group leader builds its display with its rank.
    """
    if sp > 1 and not hasattr(session.engine, "split_over"):
        raise InputError(
            f"the {session.engine.id} engine cannot split a shot over GPUs",
            hint="use --sp 1 (each GPU renders its own chains)",
        )
    if not in_torchrun():
        Topology(gpus, 0, sp)  # a bad --sp is an input error before anything starts
        if not options.new_takes and up_to_date(session):
            return render(session, options)
        outcome = launch(session, options, gpus, sp, progress)
    else:
        world = int(os.environ["WORLD_SIZE"])
        if gpus not in (1, world):
            raise InputError(
                f"--gpus {gpus}, but torchrun started {world} ranks",
                hint="leave --gpus out under torchrun",
            )
        outcome = rank_main(session.args, session.settings, options, sp, progress)
    if isinstance(outcome, NavaError):
        raise outcome
    return outcome


def launch(session: Session, options: RenderOptions, gpus: int, sp: int, progress: ProgressFactory | None):
    """Start ``gpus`` ranks on this machine (torchrun --standalone) and wait for them."""
    import torch
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if torch.cuda.is_available() and torch.cuda.device_count() < gpus:
        raise InputError(
            f"--gpus {gpus}, but this machine has {torch.cuda.device_count()} GPU(s)",
            hint="start one rank per GPU; for several machines see README 'Several GPUs' (torchrun)",
        )

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=gpus,
        run_id=f"nava-{uuid.uuid4().hex[:8]}",
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
    )
    try:
        return elastic_launch(config, rank_main)(session.args, session.settings, options, sp, progress)[0]
    except ChildFailedError as error:
        first = error.get_first_failure()[1]
        raise NavaError(
            f"a rank of the {gpus}-GPU render failed: {first.message}",
            hint="run again with --debug, or with --gpus 1 to see the error in one process",
        ) from error
