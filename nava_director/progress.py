"""What a render tells its display: the one progress protocol of the director's side.

The render calls :meth:`Progress.start` and :meth:`Progress.shot`; an engine calls
:meth:`Progress.step` as it works (a denoising step, a frame). The CLI implements it
(``cli/progress.py``). ``engine/`` keeps its own callable, since it never imports the director.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, shots: int) -> None: ...
    def shot(self, shot_id: str, done: int, note: str) -> None: ...
    def step(self, done: int, total: int, what: str) -> None: ...
