"""New takes asked for on the page: rendered one after another in a worker thread.

A job waits while another process holds the project's lock (a render started in a
terminal), then renders; its progress is what the render tells its display.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from nava_director.errors import NavaError

WAIT_S = 0.5  # how often a waiting job looks at the project's lock again


@dataclass
class Job:
    """One "new take" request and how far it got."""

    id: int
    shot: str
    state: str = "queued"  # queued | waiting | running | done | failed
    at: str = ""  # the shot the render is on now
    shots_done: int = 0
    shots_total: int = 0
    step: str = ""  # the engine's current stage, e.g. "denoise 12/50"
    takes: list[int] = field(default_factory=list)  # the takes made, when done
    error: str | None = None
    started: float | None = None
    finished: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class JobProgress:
    """Implements the render's ``Progress`` by writing into a :class:`Job`."""

    def __init__(self, job: Job):
        self.job = job

    def start(self, shots: int) -> None:
        self.job.shots_total = shots

    def shot(self, shot_id: str, done: int, note: str) -> None:
        self.job.at, self.job.shots_done, self.job.step = shot_id, done, ""

    def step(self, done: int, total: int, what: str) -> None:
        self.job.step = f"{what} {done}/{total}"


class Jobs:
    """The queue of new takes and the one thread that renders them.

    ``render(shot, progress)`` makes the take(s) and returns their numbers; ``busy()`` is the
    pid holding the project's lock (None: free).
    """

    def __init__(self, render: Callable[[str, JobProgress], list[int]], busy: Callable[[], int | None],
                 keep: int = 20):
        self.render, self.busy, self.keep = render, busy, keep
        self.jobs: list[Job] = []
        self.pending: queue.Queue[Job] = queue.Queue()
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._work, name="review-jobs", daemon=True)
        self.thread.start()

    def submit(self, shot: str) -> Job:
        job = Job(next(self.ids), shot)
        with self.lock:
            self.jobs.append(job)
            finished = [j for j in self.jobs if j.state in ("done", "failed")]
            for old in finished[: max(0, len(finished) - self.keep)]:
                self.jobs.remove(old)
        self.pending.put(job)
        return job

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [job.as_dict() for job in self.jobs]

    def _work(self) -> None:
        while True:
            job = self.pending.get()
            try:
                self._run(job)
            finally:
                self.pending.task_done()

    def _run(self, job: Job) -> None:
        job.started = time.time()
        while True:
            if self.busy() is not None:
                job.state = "waiting"
                time.sleep(WAIT_S)
                continue
            job.state = "running"
            try:
                job.takes = self.render(job.shot, JobProgress(job))
                job.state = "done"
            except NavaError as error:
                if self.busy() is not None:  # another process took the lock first: wait for it
                    continue
                job.error, job.state = error.message, "failed"
            except Exception as error:  # noqa: BLE001 - a failed job is shown on the page, the server goes on
                job.error, job.state = f"{type(error).__name__}: {error}", "failed"
            job.finished = time.time()
            return
