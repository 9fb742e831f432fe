"""The project folder: takes, manifest, report and the lock.

```
<stem>.nava/
  manifest.json          every shot: key, takes, picked, locked, chosen; the caption writer
  report.json            what the last run did
  captions/<hash>.json   the caption cache (captions/cache.py)
  shots/<id>/take-NNN/   clip.mp4 first_frame.png last_frame.png meta.json
  film.mp4 film.srt film.vtt film.otio film.json
```

Every file is written atomically (``project/files.py``). A take's ``meta.json`` is written
last: a take folder without one is the leftover of an interrupted run, never trusted, and
removed by :meth:`Project.clean`. See docs/architecture.md, "The project folder".
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nava_director.cut.clipfile import write_clip
from nava_director.errors import NavaError
from nava_director.project.files import PARTIAL, write_json, write_png
from nava_director.project.keys import image_hash
from nava_director.project.manifest import Manifest
from nava_director.project.report import Report
from nava_director.project.takes import CLIP, FIRST_FRAME, LAST_FRAME, META, NewTake, Take

TAKE_DIR = re.compile(r"^take-(\d{3,})$")


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

    def holder(self) -> int | None:
        """The pid holding the lock now, or None; never takes it (the review page asks often).

        Linux lists every ``flock`` in /proc/locks by inode: probing with ``flock`` would, for
        an instant, make a render starting elsewhere fail. Elsewhere: the pid the holder wrote
        in ``.lock``, if that process is alive.
        """
        path = self.root / ".lock"
        try:
            inode = path.stat().st_ino
            lines = Path("/proc/locks").read_text().splitlines()
        except FileNotFoundError as missing:
            return None if missing.filename == str(path) else _alive(path)
        except OSError:
            return _alive(path)
        for line in lines:  # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146981 0 EOF"; a waiter's has "->"
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
                return int(parts[4])
        return None

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

    def next_number(self, shot_id: str) -> int:
        """The number the shot's next take gets (one past every take folder, finished or not)."""
        numbers = [int(m.group(1)) for f in self.shot_dir(shot_id).glob("take-*") if (m := TAKE_DIR.match(f.name))]
        return max(numbers, default=0) + 1

    def add_take(self, new: NewTake) -> Take:
        """Write a finished clip as the shot's next take; it counts once meta.json is in place."""
        n = self.next_number(new.shot)
        folder = self.shot_dir(new.shot) / f"take-{n:03d}"
        folder.mkdir(parents=True)
        write_clip(new.clip, folder / CLIP, new.crf)
        write_png(folder / FIRST_FRAME, new.clip.frames[0])
        write_png(folder / LAST_FRAME, new.clip.frames[-1])
        last = image_hash(new.clip.frames[-1])
        write_json(folder / META, new.meta_json(n, last))
        return Take(new.shot, n, new.key, new.seed, folder, last, new.timings)

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


def _alive(lock_file: Path) -> int | None:
    """The pid written in ``lock_file`` if that process is alive."""
    try:
        pid = int(lock_file.read_text().strip() or 0)
        if pid:
            os.kill(pid, 0)
            return pid
    except (OSError, ValueError):
        pass
    return None
