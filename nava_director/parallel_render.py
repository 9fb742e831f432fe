"""Render over several GPUs: groups of ranks render independent continuation chains at once.

``render SB --gpus N --sp K`` starts N ranks (torchrun's launcher, one command for the
user); under ``torchrun`` itself (several nodes) the ranks already exist. The N ranks form
N/K groups of K consecutive ranks. A group renders one shot at a time, its DiT forward
split over its K ranks (Ulysses sequence parallel, ``engine.parallel``); the groups share
the continuation chains out (``chains.assign``), so a continued shot always renders after
its upstream take, on the same group.

One writer to the project folder: rank 0. It holds the project lock, cleans, writes the
captions and every take, and at the end merges every group's outcome into the manifest,
cuts the film and writes report.json. A group's first rank (its leader) makes the
decisions for its shots exactly as a one-process run does, reading the folder as usual,
and hands each finished clip to rank 0, which writes it as a take (:class:`TakeServer`,
one thread per other leader) and hands the take back; the other ranks of the group
receive each request from their leader and render it with it. CPU ranks talk over gloo;
GPU ranks run the DiT's collectives over NCCL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from nava_director.chains import assign
from nava_director.config import Settings
from nava_director.engines.base import Clip, Engine, ShotRequest
from nava_director.engines.base import Progress as StepProgress
from nava_director.errors import InputError, NavaError
from nava_director.render import Director, Progress, RenderOptions, _Run, render, status
from nava_director.store import Report, ShotEntry, Take

# How long a rank may wait on another over the control groups: for the next request of its
# leader, the next take of a group, the outcome of the longest chain (hours on a slow GPU).
# torch's default (30 min for gloo) would end a long render that is going well.
WAIT = timedelta(hours=24)


@dataclass(frozen=True)
class Topology:
    """Who is who among ``world`` ranks split into groups of ``sp``."""

    world: int
    rank: int
    sp: int

    def __post_init__(self) -> None:
        if self.sp < 1 or self.world % self.sp:
            raise InputError(
                f"--sp {self.sp} does not divide {self.world} GPUs into equal groups",
                hint=f"choose --sp among {', '.join(str(k) for k in range(1, self.world + 1) if self.world % k == 0)}",
            )

    @property
    def groups(self) -> list[list[int]]:
        return [list(range(g * self.sp, (g + 1) * self.sp)) for g in range(self.world // self.sp)]

    @property
    def group(self) -> int:
        return self.rank // self.sp

    @property
    def leader(self) -> int:
        return self.group * self.sp

    @property
    def is_leader(self) -> bool:
        return self.rank == self.leader


@dataclass
class Outcome:
    """What a group did with its shots (sent to rank 0)."""

    report: Report
    entries: dict[str, ShotEntry]
    chosen: dict[str, Take | None]
    ranks: dict[str, int] = field(default_factory=dict)


class GroupEngine:
    """The leader's engine: every request goes to the group's other ranks before it renders."""

    def __init__(self, engine: Engine, group, leader: int):
        self.engine, self.group, self.leader = engine, group, leader

    @property
    def id(self) -> str:
        return self.engine.id

    def render(self, request: ShotRequest, progress: StepProgress | None = None) -> Clip:
        _broadcast(request, self.leader, self.group)
        return self.engine.render(request, progress)

    def close(self) -> None:
        """Tell the followers there is nothing more to render."""
        _broadcast(None, self.leader, self.group)


class RemoteTakes:
    """A group leader's view of the project: reads go to the folder, takes are written by rank 0."""

    def __init__(self, project, link):
        self.project, self.link = project, link

    def __getattr__(self, name: str):
        return getattr(self.project, name)

    def add_take(self, *args, **kwargs) -> Take:
        import torch.distributed as dist

        dist.send_object_list([(args, kwargs)], dst=0, group=self.link)
        box = [None]
        dist.recv_object_list(box, src=0, group=self.link)
        outcome, value = box[0]
        if outcome == "error":
            raise NavaError(f"rank 0 could not write the take: {value}")
        return value

    def close(self) -> None:
        """Tell rank 0 that this leader writes no more takes."""
        import torch.distributed as dist

        dist.send_object_list([None], dst=0, group=self.link)


class TakeServer:
    """Rank 0's side of :class:`RemoteTakes`: a thread per other group leader writes the takes
    it sends (each shot belongs to one group, so take numbers never race) until it closes."""

    def __init__(self, project, links: dict[int, object]):
        import threading

        self.project = project
        self.threads = [threading.Thread(target=self._serve, args=(leader, link), daemon=True)
                        for leader, link in links.items()]

    def __enter__(self) -> TakeServer:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        for thread in self.threads:
            thread.join()

    def serve(self) -> None:
        """Write takes until every leader has closed (a rank 0 with nothing else to do)."""
        self.__enter__()
        self.__exit__()

    def _serve(self, leader: int, link) -> None:
        import torch.distributed as dist

        while True:
            box = [None]
            dist.recv_object_list(box, src=leader, group=link)
            if box[0] is None:
                return
            args, kwargs = box[0]
            try:
                reply = ("ok", self.project.add_take(*args, **kwargs))
            except Exception as error:  # noqa: BLE001 - the leader records it as the shot's failure
                reply = ("error", f"{type(error).__name__}: {error}")
            dist.send_object_list([reply], dst=leader, group=link)


def follow(engine: Engine, group, leader: int) -> None:
    """A follower: render every request the leader sends (its share of the DiT), until None."""
    while (request := _broadcast(None, leader, group)) is not None:
        try:
            engine.render(request)
        except NavaError:
            pass  # the leader meets the same error and records it


class Ranks:
    """This process's part in a run over a torchrun world."""

    def __init__(self, director: Director, options: RenderOptions, sp: int):
        import torch
        import torch.distributed as dist

        self.director, self.options = director, options
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        if not dist.is_initialized():
            dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo", timeout=WAIT)
        self.topology = Topology(dist.get_world_size(), dist.get_rank(), sp)
        self.control = dist.new_group(backend="gloo", timeout=WAIT)  # decisions and outcomes, as objects
        # every rank creates every group, in the same order (torch.distributed's rule)
        groups = [
            (dist.new_group(members), dist.new_group(members, backend="gloo", timeout=WAIT))
            for members in self.topology.groups
        ]
        self.compute, self.group_control = groups[self.topology.group]
        leaders = [members[0] for members in self.topology.groups]
        self.take_links = {
            leader: dist.new_group([0, leader], backend="gloo", timeout=WAIT) for leader in leaders if leader != 0
        }
        if self.topology.is_leader and self.topology.rank != 0:
            director.project = RemoteTakes(director.project, self.take_links[self.topology.rank])
        if sp > 1:
            director.engine.split_over(self.compute)
        self.shots = assign(director.plan, len(self.topology.groups))[self.topology.group]

    def run(self, progress: Progress | None = None) -> Report | None:
        """Rank 0: the whole render, returning its report; the other ranks: their share, None.

        ``progress``: the display of this rank's shots, when it leads a group."""
        if self.topology.rank == 0:
            shared = False

            def run_shots(run: _Run) -> None:
                nonlocal shared
                _broadcast((run.manifest, run.captions), 0, self.control)
                shared = True
                with TakeServer(self.director.project, self.take_links):
                    own = self.lead(run)
                self.merge(run, own)

            try:
                return render(self.director, self.options, progress, run_shots=run_shots)
            finally:
                if not shared:  # rank 0 failed before the shots: release the others
                    _broadcast(None, 0, self.control)
        start = _broadcast(None, 0, self.control)
        if start is None:
            return None
        manifest, captions = start
        if self.topology.is_leader:
            try:
                outcome = self.lead(_Run(self.director, self.options, progress, manifest, captions))
            finally:
                self.director.project.close()  # rank 0 stops waiting for this group's takes
            self._gather(outcome)
        else:
            follow(self.director.engine, self.group_control, self.topology.leader)
            self._gather(None)
        return None

    def lead(self, run: _Run) -> Outcome:
        """Bring this group's shots up to date (in render order), the group rendering together."""
        engine = run.director.engine
        if self.topology.sp > 1:
            run.director.engine = GroupEngine(engine, self.group_control, self.topology.leader)
        if run.progress:
            run.progress.start(len(self.shots))
        try:
            for done, job in enumerate(self.shots):
                if run.progress:
                    run.progress.shot(job.shot, done, "")
                run.attempt(job)
        finally:
            if self.topology.sp > 1:
                run.director.engine.close()
                run.director.engine = engine
        mine = [job.shot for job in self.shots]
        return Outcome(
            report=run.report,
            entries={shot: run.manifest.shot(shot) for shot in mine},
            chosen={shot: run.chosen.get(shot) for shot in mine},
            ranks={shot: self.topology.rank for shot in mine},
        )

    def merge(self, run: _Run, own: Outcome) -> None:
        """Rank 0: every group's outcome into the run, in render order, and the manifest saved."""
        for outcome in self._gather(None):  # rank 0 keeps its own: it is the run's
            theirs = outcome.report
            for name in ("rendered", "reused", "stale", "locked", "failed"):
                getattr(run.report, name).extend(getattr(theirs, name))
            run.manifest.shots.update(outcome.entries)
            run.chosen.update(outcome.chosen)
            run.report.ranks.update(outcome.ranks)
            run.report.new_takes.update(theirs.new_takes)
        run.report.ranks.update(own.ranks)
        order = {job.shot: i for i, job in enumerate(run.director.plan.jobs)}
        for name in ("rendered", "reused", "stale", "locked"):
            getattr(run.report, name).sort(key=order.__getitem__)
        run.report.failed.sort(key=lambda failure: order[failure.shot])
        run.report.ranks = dict(sorted(run.report.ranks.items(), key=lambda item: order[item[0]]))
        run.director.project.save_manifest(run.manifest)

    def _gather(self, outcome: Outcome | None) -> list[Outcome | None]:
        import torch.distributed as dist

        everyone = [None] * self.topology.world if self.topology.rank == 0 else None
        dist.gather_object(outcome, everyone, dst=0, group=self.control)
        return [o for o in everyone or [] if o is not None]

    def close(self) -> None:
        import torch.distributed as dist

        dist.barrier()  # no rank tears its connections down while another still uses them
        dist.destroy_process_group()


def _broadcast(value, src: int, group):
    """``value`` from rank ``src`` to every rank of ``group`` (the others pass anything)."""
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=src, group=group)
    return box[0]


# -- starting the ranks --------------------------------------------------------------------


def in_torchrun() -> bool:
    """Whether this process is one rank of a world torchrun started."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


ProgressFactory = Callable[[int], Progress]  # rank -> the display of the shots that rank leads


def rank_main(
    storyboard: Path,
    settings: Settings,
    steps: int | None,
    options: RenderOptions,
    sp: int,
    progress: ProgressFactory | None = None,
) -> Report | NavaError | None:
    """One rank's whole life: rank 0 returns the report (or the NavaError that stopped it)."""
    director = Director(storyboard, settings, steps=steps)
    try:
        ranks = Ranks(director, options, sp)
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
    director: Director, options: RenderOptions, gpus: int, sp: int = 1, progress: ProgressFactory | None = None
) -> Report | None:
    """Render over ``gpus`` ranks in groups of ``sp``: started here on this machine, or, under
    torchrun, as this process's rank (rank 0 returns the report, the other ranks None).

    A run with nothing to render stays in this process (no ranks, no torch). ``progress``
    must pickle (a class, say): each group leader builds its display with its rank.
    """
    if sp > 1 and not hasattr(director.engine, "split_over"):
        raise InputError(
            f"the {director.engine.id} engine cannot split a shot over GPUs",
            hint="use --sp 1 (each GPU renders its own chains)",
        )
    if not in_torchrun():
        Topology(gpus, 0, sp)  # a bad --sp is an input error before anything starts
        if not options.new_takes and all(state.chosen is not None for state in status(director)):
            return render(director, options)
        outcome = _launch(director, options, gpus, sp, progress)
    else:
        world = int(os.environ["WORLD_SIZE"])
        if gpus not in (1, world):
            raise InputError(
                f"--gpus {gpus}, but torchrun started {world} ranks",
                hint="leave --gpus out under torchrun",
            )
        outcome = rank_main(director.storyboard, director.settings, director.steps, options, sp, progress)
    if isinstance(outcome, NavaError):
        raise outcome
    return outcome


def _launch(director: Director, options: RenderOptions, gpus: int, sp: int, progress: ProgressFactory | None):
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
    args = (director.storyboard, director.settings, director.steps, options, sp, progress)
    try:
        return elastic_launch(config, rank_main)(*args)[0]
    except ChildFailedError as error:
        first = error.get_first_failure()[1]
        raise NavaError(
            f"a rank of the {gpus}-GPU render failed: {first.message}",
            hint="run again with --debug, or with --gpus 1 to see the error in one process",
        ) from error
