"""Render over several GPUs: groups of ranks render independent continuation chains at once.

The N ranks of a ``render --gpus N --sp K`` form N/K groups of K consecutive ranks. A group
renders one shot at a time, its DiT forward split over its K ranks (Ulysses sequence
parallel, ``engine.parallel``); the groups share the continuation chains out
(``storyboard/chains.py``), so a continued shot always renders after its upstream take, on
the same group.

One writer to the project folder: rank 0. It holds the run (the lock, the captions, the
manifest: ``render.run.begin``), writes every take, merges every group's outcome and
finishes the run (the cut, report.json). A group's first rank (its leader) runs its jobs
with the same :func:`~nava_director.render.jobs.run_jobs` as a one-process render, reading
the folder as usual; what differs is passed in: its engine (:class:`GroupEngine` hands each
request to the group's other ranks) and its take writer (:class:`RemoteTakes` sends each
new take to rank 0's :class:`TakeServer`, which writes it and hands the take back). CPU
ranks talk over gloo; GPU ranks run the DiT's collectives over NCCL. Starting the ranks:
``render/launch.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import timedelta

from nava_director.clip import Clip
from nava_director.engines.base import Engine, ShotRequest
from nava_director.errors import InputError, NavaError
from nava_director.progress import Progress
from nava_director.project.manifest import Manifest
from nava_director.project.report import Report
from nava_director.project.takes import NewTake, Take
from nava_director.render.jobs import JobsOutcome, RenderOptions, RunInputs, run_jobs
from nava_director.render.run import begin
from nava_director.render.shape import shape_of, with_fixed_dit
from nava_director.session import Session
from nava_director.storyboard.chains import assign
from nava_director.storyboard.plan import RenderPlan

# How long a rank may wait on another over the control groups: for the next request of its
# leader, the next take of a group, the outcome of the longest chain (hours on a slow GPU).
# torch's default (30 min for gloo) would end a long render that is going well.
WAIT = timedelta(hours=24)
REPORT_LISTS = ("rendered", "reused", "stale", "locked")


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


@dataclass(frozen=True)
class RankOutcome:
    """What a group did with its shots (sent to rank 0), and which rank led them."""

    outcome: JobsOutcome
    rank: int


class GroupEngine:
    """The leader's engine: every request goes to the group's other ranks before it renders."""

    def __init__(self, engine: Engine, group, leader: int):
        self.engine, self.group, self.leader = engine, group, leader

    @property
    def id(self) -> str:
        return self.engine.id

    def render(self, request: ShotRequest, progress: Progress | None = None) -> Clip:
        broadcast(request, self.leader, self.group)
        return self.engine.render(request, progress)

    def close(self) -> None:
        """Tell the followers there is nothing more to render."""
        broadcast(None, self.leader, self.group)


class RemoteTakes:
    """A group leader's take writer: each new take is written by rank 0 and handed back."""

    def __init__(self, link):
        self.link = link

    def add_take(self, new: NewTake) -> Take:
        import torch.distributed as dist

        dist.send_object_list([new], dst=0, group=self.link)
        box = [None]
        dist.recv_object_list(box, src=0, group=self.link)
        outcome, value = box[0]
        if outcome == "error":
            raise NavaError(f"rank 0 could not write the take: {value}")
        return value

    def save_manifest(self, manifest: Manifest) -> None:
        """Nothing: rank 0 saves the manifest with every group's entries merged (the takes are
        on disk already, and they are the truth)."""

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
        self.threads = [threading.Thread(target=self.serve_leader, args=(leader, link), daemon=True)
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
        with self:
            pass

    def serve_leader(self, leader: int, link) -> None:
        import torch.distributed as dist

        while True:
            box = [None]
            dist.recv_object_list(box, src=leader, group=link)
            if box[0] is None:
                return
            try:
                reply = ("ok", self.project.add_take(box[0]))
            except Exception as error:  # noqa: BLE001 - the leader records it as the shot's failure
                reply = ("error", f"{type(error).__name__}: {error}")
            dist.send_object_list([reply], dst=leader, group=link)


def follow(engine: Engine, group, leader: int) -> None:
    """A follower: render every request the leader sends (its share of the DiT), until None."""
    while (request := broadcast(None, leader, group)) is not None:
        try:
            engine.render(request)
        except NavaError:
            pass  # the leader meets the same error and records it


def merge(plan: RenderPlan, outcomes: list[RankOutcome]) -> JobsOutcome:
    """Every group's outcome as one, in render order (the report's lists and its ranks)."""
    merged = JobsOutcome()
    report = merged.report
    for each in outcomes:
        theirs = each.outcome
        for name in REPORT_LISTS:
            getattr(report, name).extend(getattr(theirs.report, name))
        report.failed.extend(theirs.report.failed)
        report.new_takes.update(theirs.report.new_takes)
        report.checks.update(theirs.report.checks)
        report.ranks.update({shot: each.rank for shot in theirs.entries})
        merged.entries.update(theirs.entries)
        merged.chosen.update(theirs.chosen)
    order = {job.shot: i for i, job in enumerate(plan.jobs)}
    for name in REPORT_LISTS:
        getattr(report, name).sort(key=order.__getitem__)
    report.failed.sort(key=lambda failure: order[failure.shot])
    report.ranks = dict(sorted(report.ranks.items(), key=lambda item: order[item[0]]))
    return merged


class Ranks:
    """This process's part in a run over a torchrun world."""

    def __init__(self, session: Session, options: RenderOptions, sp: int):
        import torch
        import torch.distributed as dist

        # every rank's engine renders with the project's DiT file (the one its keys name)
        session = with_fixed_dit(session, session.project.manifest())
        self.session, self.options = session, options
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
        if sp > 1:
            session.engine.split_over(self.compute)
        self.shots = assign(session.plan, len(self.topology.groups))[self.topology.group]

    def run(self, progress: Progress | None = None) -> Report | None:
        """Rank 0: the whole render, returning its report; the other ranks: their share, None.

        ``progress``: the display of this rank's shots, when it leads a group."""
        if self.topology.rank == 0:
            return self.run_as_rank_0(progress)
        start = broadcast(None, 0, self.control)
        if start is None:  # rank 0 failed before the shots
            return None
        manifest, captions = start
        session = self.session
        if self.topology.is_leader:
            inputs = RunInputs(session.project, manifest, captions, shape_of(session), session.characters,
                               self.options, session.settings.crf)
            writer = RemoteTakes(self.take_links[self.topology.rank])
            try:
                outcome = self.lead(inputs, writer, progress)
            finally:
                writer.close()  # rank 0 stops waiting for this group's takes
            self.gather(RankOutcome(outcome, self.topology.rank))
        else:
            follow(session.engine, self.group_control, self.topology.leader)
            self.gather(None)
        return None

    def run_as_rank_0(self, progress: Progress | None) -> Report:
        """Rank 0 holds the run: it shares the manifest and captions, leads its own group,
        writes every group's takes, then merges the outcomes and finishes the run."""
        shared = False
        try:
            with begin(self.session, self.options) as run:
                broadcast((run.inputs.manifest, run.inputs.captions), 0, self.control)
                shared = True
                with TakeServer(self.session.project, self.take_links):
                    own = self.lead(run.inputs, self.session.project, progress)
                outcomes = [RankOutcome(own, 0), *self.gather(None)]
                return run.finish(merge(self.session.plan, outcomes))
        finally:
            if not shared:  # rank 0 failed before the shots: release the others
                broadcast(None, 0, self.control)

    def lead(self, inputs: RunInputs, writer, progress: Progress | None) -> JobsOutcome:
        """Bring this group's shots up to date (in render order), the group rendering together.

        No group measures its takes (no --retake over --gpus): rank 0 checks every new take
        once the shots are done (``Run.finish``)."""
        inputs = replace(inputs, checker=None)
        if self.topology.sp == 1:
            return run_jobs(self.shots, inputs, self.session.engine, writer, progress)
        engine = GroupEngine(self.session.engine, self.group_control, self.topology.leader)
        try:
            return run_jobs(self.shots, inputs, engine, writer, progress)
        finally:
            engine.close()

    def gather(self, outcome: RankOutcome | None) -> list[RankOutcome]:
        """Every leader's outcome at rank 0 (the others get an empty list)."""
        import torch.distributed as dist

        everyone = [None] * self.topology.world if self.topology.rank == 0 else None
        dist.gather_object(outcome, everyone, dst=0, group=self.control)
        return [o for o in everyone or [] if o is not None]

    def close(self) -> None:
        import torch.distributed as dist

        dist.barrier()  # no rank tears its connections down while another still uses them
        dist.destroy_process_group()


def broadcast(value, src: int, group):
    """``value`` from rank ``src`` to every rank of ``group`` (the others pass anything)."""
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=src, group=group)
    return box[0]
