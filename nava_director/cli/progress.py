"""The render's live display: shots done / total, the current shot, the engine's steps."""

from __future__ import annotations

import sys
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RichProgress:
    """Implements ``nava_director.progress.Progress`` with two rich bars; a context manager."""

    def __init__(self, console: Console):
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.shots = self.bars.add_task("shots", total=1, visible=False)
        self.steps = self.bars.add_task("", total=1, visible=False)

    def __enter__(self) -> Self:
        return self  # the display starts with the shots: a run refused up front leaves no trace

    def __exit__(self, *exc) -> None:
        if self.bars.live.is_started:
            self.bars.stop()

    def start(self, shots: int) -> None:
        if not self.bars.live.is_started:
            self.bars.start()
        self.bars.update(self.shots, total=shots, completed=0, visible=True)

    def shot(self, shot_id: str, done: int, note: str) -> None:
        label = f"shot [bold]{shot_id}[/]" if shot_id else note
        self.bars.update(self.shots, completed=done, description=f"shots · {label}")
        self.bars.update(self.steps, completed=0, visible=False)

    def step(self, done: int, total: int, what: str) -> None:
        self.bars.update(self.steps, completed=done, total=total, description=f"  {what}", visible=True)


class RankProgress:
    """Implements ``nava_director.progress.Progress`` as plain lines on stderr, one per shot and
    one when its denoising ends: several ranks of a ``--gpus`` render share one terminal."""

    def __init__(self, rank: int):
        self.rank = rank
        self.shots = 0

    def say(self, text: str) -> None:
        print(f"rank {self.rank}: {text}", file=sys.stderr, flush=True)

    def start(self, shots: int) -> None:
        self.shots = shots

    def shot(self, shot_id: str, done: int, note: str) -> None:
        self.say(f"shot {shot_id} ({done + 1}/{self.shots})")

    def step(self, done: int, total: int, what: str) -> None:
        if done == total:
            self.say(f"  {what} {done}/{total}")
