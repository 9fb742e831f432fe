"""The project folder (DESIGN §6): takes, manifest, report, atomic writes and the lock.

```
<stem>.nava/
  manifest.json          every shot: key, takes, picked, locked, chosen; the caption writer
  report.json            what the last run did
  shots/<id>/take-NNN/   clip.mp4 first_frame.png last_frame.png meta.json
```

Every file is written under a temporary name (``.NAME.PID.partial``), fsynced, then
renamed. A take's ``meta.json`` is written last: a take folder without one is the
leftover of an interrupted run, never trusted, and removed by :meth:`Project.clean`.
The takes on disk are the truth; the manifest's take lists mirror them, and it holds
what only the user decides (picks and locks).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from nava_director.cut.clipfile import atomic_path, write_clip
from nava_director.engines.base import Clip
from nava_director.errors import NavaError
from nava_director.keys import image_hash

TAKE_DIR = re.compile(r"^take-(\d{3,})$")
PARTIAL = "*.partial"
CLIP, FIRST_FRAME, LAST_FRAME, META = "clip.mp4", "first_frame.png", "last_frame.png", "meta.json"


class TakeEntry(BaseModel):
    n: int
    key: str
    seed: int
    files: dict[str, str]  # role -> path relative to the project folder
    timings: dict[str, float] = Field(default_factory=dict)


class ShotEntry(BaseModel):
    key: str | None = None  # the shot's key at the last run
    takes: list[TakeEntry] = Field(default_factory=list)
    chosen: int | None = None  # the take the film uses
    picked: int | None = None  # chosen by `pick`
    locked: bool = False  # `lock`: keep `chosen` whatever the inputs


class Manifest(BaseModel):
    version: int = 1
    writer: str | None = None  # the caption writer the takes were made with
    caption_model: str | None = None  # and its model (an LLM writer's)
    size: tuple[int, int] | None = None  # the size the last render ran at (`takes` assumes it)
    steps: int | None = None  # the --steps it ran with (None: the storyboard's)
    shots: dict[str, ShotEntry] = Field(default_factory=dict)

    def shot(self, shot_id: str) -> ShotEntry:
        return self.shots.setdefault(shot_id, ShotEntry())

    def unlocked_with_takes(self, shot_ids: list[str]) -> list[str]:
        """Those of ``shot_ids`` (in their order) that have takes and are not locked."""
        return [s for s in shot_ids if (entry := self.shots.get(s)) and entry.takes and not entry.locked]


class Failure(BaseModel):
    shot: str
    error: str


class CaptionNote(BaseModel):
    writer: str
    fallback: bool = False


class Report(BaseModel):
    """report.json: what one run did (a no-change run too)."""

    rendered: list[str] = Field(default_factory=list)
    reused: list[str] = Field(default_factory=list)
    stale: list[str] = Field(default_factory=list)
    locked: list[str] = Field(default_factory=list)
    failed: list[Failure] = Field(default_factory=list)
    captions: dict[str, CaptionNote] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    film: dict[str, Any] | None = None
    ranks: dict[str, int] = Field(default_factory=dict)  # --gpus: shot -> the rank that led its render
    new_takes: dict[str, list[int]] = Field(default_factory=dict)  # --takes: shot -> the takes made, not in the film


@dataclass(frozen=True)
class Take:
    """One finished take: (key, seed) -> clip, with its frames at both ends."""

    shot: str
    n: int
    key: str
    seed: int
    folder: Path
    last_frame_hash: str
    timings: dict[str, float]

    @property
    def clip(self) -> Path:
        return self.folder / CLIP

    @property
    def first_frame(self) -> Path:
        return self.folder / FIRST_FRAME

    @property
    def last_frame(self) -> Path:
        return self.folder / LAST_FRAME

    def entry(self, root: Path) -> TakeEntry:
        files = {
            role: str((self.folder / name).relative_to(root))
            for role, name in (("clip", CLIP), ("first_frame", FIRST_FRAME), ("last_frame", LAST_FRAME))
        }
        return TakeEntry(n=self.n, key=self.key, seed=self.seed, files=files, timings=self.timings)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, data: Any) -> None:
    write_bytes(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode())


def write_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


def read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


class Project:
    """A storyboard's project folder."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    @property
    def report_path(self) -> Path:
        return self.root / "report.json"

    def shot_dir(self, shot_id: str) -> Path:
        return self.root / "shots" / shot_id

    # ---- the lock -------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the project's OS lock (``flock``): released when the process dies, however."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise NavaError(
                    f"another nava-director process (pid {holder}) is using {self.root}",
                    hint="wait for it to finish, or render into another folder with --out",
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # ---- takes ----------------------------------------------------------------------

    def clean(self) -> list[Path]:
        """Remove what an interrupted run left: partial files and take folders with no meta.json."""
        removed: list[Path] = []
        if not self.root.exists():
            return removed
        for partial in self.root.rglob(PARTIAL):
            partial.unlink(missing_ok=True)
            removed.append(partial)
        for folder in self.root.glob("shots/*/take-*"):
            if folder.is_dir() and not (folder / META).is_file():
                shutil.rmtree(folder)
                removed.append(folder)
        return removed

    def takes(self, shot_id: str) -> list[Take]:
        """The shot's finished takes, by number."""
        out = []
        for folder in sorted(self.shot_dir(shot_id).glob("take-*")):
            match = TAKE_DIR.match(folder.name)
            if not (match and (folder / META).is_file()):
                continue
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
            out.append(
                Take(
                    shot_id,
                    int(match.group(1)),
                    meta["key"],
                    meta["seed"],
                    folder,
                    meta["last_frame_hash"],
                    meta.get("timings", {}),
                )
            )
        return sorted(out, key=lambda t: t.n)

    def _next_number(self, shot_id: str) -> int:
        numbers = [int(m.group(1)) for f in self.shot_dir(shot_id).glob("take-*") if (m := TAKE_DIR.match(f.name))]
        return max(numbers, default=0) + 1

    def add_take(
        self, shot_id: str, key: str, seed: int, clip: Clip, meta: dict[str, Any], timings: dict[str, float],
        crf: int = 18,
    ) -> Take:
        """Write a finished clip as the shot's next take; it counts once meta.json is in place."""
        n = self._next_number(shot_id)
        folder = self.shot_dir(shot_id) / f"take-{n:03d}"
        folder.mkdir(parents=True)
        write_clip(clip, folder / CLIP, crf)
        write_png(folder / FIRST_FRAME, clip.frames[0])
        write_png(folder / LAST_FRAME, clip.frames[-1])
        last = image_hash(clip.frames[-1])
        write_json(
            folder / META,
            {**meta, "shot": shot_id, "n": n, "key": key, "seed": seed, "last_frame_hash": last, "timings": timings},
        )
        return Take(shot_id, n, key, seed, folder, last, timings)

    # ---- manifest and report --------------------------------------------------------

    def manifest(self) -> Manifest:
        if not self.manifest_path.is_file():
            return Manifest()
        return Manifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))

    def save_manifest(self, manifest: Manifest) -> None:
        """Write the manifest with every shot's take list refreshed from disk."""
        for shot_id, entry in manifest.shots.items():
            entry.takes = [take.entry(self.root) for take in self.takes(shot_id)]
        write_json(self.manifest_path, manifest.model_dump(mode="json"))

    def save_report(self, report: Report) -> None:
        write_json(self.report_path, report.model_dump(mode="json"))
