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

from pydantic import ValidationError

from nava_director.cut.clipfile import write_clip
from nava_director.errors import InputError, NavaError
from nava_director.project.files import PARTIAL, write_json, write_png, write_text
from nava_director.project.keys import image_hash
from nava_director.project.manifest import Manifest, ShotEntry
from nava_director.project.report import Report
from nava_director.project.takes import CLIP, FIRST_FRAME, LAST_FRAME, META, NewTake, Take

TAKE_DIR = re.compile(r"^take-(\d{3,})$")
TAKE_NUMBER = re.compile(r"^take-(\d{3,})(?:\.damaged(?:-\d+)?)?$")  # set-aside takes keep their number
FILES = ("manifest.json", "report.json", "film.mp4", "film.srt", "film.vtt", "film.otio", "film.json")
MARKER = ".nava-project"  # a project folder holds it: nava-director writes and cleans only there
STARTED = {"captions", ".lock"}  # all a project begun before the marker may hold (a `captions` run)
MARKER_TEXT = "This folder is a nava-director project: render writes and cleans up in it.\n"
PARTIAL_PLACES = tuple(f"{folder}{PARTIAL}" for folder in ("", "captions/", "shots/*/", "shots/*/take-*/"))


class Project:
    """A storyboard's project folder."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.held = False  # inside :meth:`locked`: damaged takes and manifests may be set aside
        self.notes: list[str] = []  # what was set aside or rebuilt (report.json says it)
        self.damaged_manifest: str | None = None  # why manifest.json did not read

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    @property
    def report_path(self) -> Path:
        return self.root / "report.json"

    def shot_dir(self, shot_id: str) -> Path:
        return self.root / "shots" / shot_id

    def check_layout(self, shot_ids: list[str]) -> None:
        """The folders a run writes into are folders (a file in their place is the user's: said,
        not removed), before anything renders."""
        for path in (self.root / "shots", self.root / "captions", *(self.shot_dir(s) for s in shot_ids)):
            if path.exists() and not path.is_dir():
                raise InputError(f"{path} is a file where the project keeps a folder",
                                 hint="move it out of the project folder, then run the same command again")
        for name in FILES:
            if (self.root / name).is_dir():
                raise InputError(f"{self.root / name} is a folder where the project keeps a file",
                                 hint="move it out of the project folder, then run the same command again")

    # ---- the lock -------------------------------------------------------------------

    # ---- ownership ------------------------------------------------------------------

    @property
    def marker_path(self) -> Path:
        return self.root / MARKER

    def is_project(self) -> bool:
        """The folder holds a project: its marker, or (a project from before markers) a manifest."""
        return self.marker_path.is_file() or self.manifest_path.is_file()

    def claim(self) -> None:
        """Make the folder this project's, or refuse: a folder that exists, holds anything and
        is not a project (``--out .``, ``--out ~``) is never written to, so nothing in it is
        ever cleaned away. A new or empty folder gets the marker."""
        try:
            if self.root.exists() and not self.root.is_dir():
                raise InputError(f"{self.root} is a file, not a project folder",
                                 hint="name a folder with --out (it is made if missing)")
            if self.is_project():
                if not self.marker_path.is_file():
                    write_text(self.marker_path, MARKER_TEXT)
                return
            if self.root.is_dir() and any(entry.name not in STARTED for entry in self.root.iterdir()):
                raise InputError(
                    f"{self.root} is not empty and is not a nava-director project: it is left alone",
                    hint="render into a new or empty folder (--out NEW_FOLDER)",
                )
            self.root.mkdir(parents=True, exist_ok=True)
            write_text(self.marker_path, MARKER_TEXT)
        except OSError as e:
            raise InputError(f"cannot write the project folder {self.root}: {e.strerror or e}",
                             hint="choose a folder you can write to with --out") from None

    # ---- the lock -------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the project's OS lock (``flock``): released when the process dies, however.
        The folder is claimed first (:meth:`claim`)."""
        self.claim()
        try:
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError(f"cannot open the project's lock {self.root / '.lock'}: {e.strerror}",
                             hint="remove or rename what is there; nava-director makes it again") from None
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
            self.held = True
            yield
        finally:
            self.held = False
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
        for pattern in PARTIAL_PLACES:  # only where this project writes, never a walk of the tree
            for partial in self.root.glob(pattern):
                partial.unlink(missing_ok=True)
                removed.append(partial)
        for folder in self.root.glob("shots/*/take-*"):
            if TAKE_DIR.match(folder.name) and folder.is_dir() and not (folder / META).is_file():
                shutil.rmtree(folder)
                removed.append(folder)
        return removed

    def takes(self, shot_id: str) -> list[Take]:
        """The shot's finished takes, by number. A take whose meta.json does not read is not
        one: it is set aside (:meth:`set_aside`) when the folder is held, else skipped."""
        out = []
        for folder in sorted(self.shot_dir(shot_id).glob("take-*")):
            match = TAKE_DIR.match(folder.name)
            if not (match and (folder / META).is_file()):
                continue
            try:
                meta = json.loads((folder / META).read_text(encoding="utf-8"))
                take = Take(shot_id, int(match.group(1)), str(meta["key"]), int(meta["seed"]), folder,
                            str(meta["last_frame_hash"]), dict(meta.get("timings", {})),
                            int(meta["frames"]) if isinstance(meta.get("frames"), int) else None)
            except (OSError, ValueError, KeyError, TypeError) as error:
                if self.held:
                    self.set_aside(folder, f"{META} does not read ({type(error).__name__}: {error})")
                continue
            out.append(take)
        return sorted(out, key=lambda t: t.n)

    def set_aside(self, folder: Path, why: str) -> Path:
        """Rename a damaged take folder out of the way (kept, never deleted) and note it; the
        shot renders again."""
        aside = folder.with_name(f"{folder.name}.damaged")
        k = 1
        while aside.exists():
            k += 1
            aside = folder.with_name(f"{folder.name}.damaged-{k}")
        folder.rename(aside)
        self.notes.append(f"{folder.relative_to(self.root)}: {why}; set aside as {aside.name}, the shot renders again")
        return aside

    def usable(self, take: Take) -> bool:
        """Whether a take about to be used passes the cheap check; if not it is set aside."""
        if (problem := take.problem()) is None:
            return True
        self.set_aside(take.folder, problem)
        return False

    def next_number(self, shot_id: str) -> int:
        """The number the shot's next take gets (one past every take folder, finished, not
        finished or set aside)."""
        numbers = [int(m.group(1)) for f in self.shot_dir(shot_id).glob("take-*") if (m := TAKE_NUMBER.match(f.name))]
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
        return Take(new.shot, n, new.key, new.seed, folder, last, new.timings, new.meta.frames)

    # ---- manifest and report --------------------------------------------------------

    def manifest(self) -> Manifest:
        """manifest.json; one that does not read is rebuilt from what it still holds that
        validates and from the takes on disk (which are the truth), and kept aside at the next
        save as manifest.json.damaged."""
        if not self.manifest_path.is_file():
            return Manifest()
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
            return Manifest.model_validate_json(text)
        except (OSError, UnicodeDecodeError, ValidationError) as error:
            self.damaged_manifest = _first_line(error)
            return _salvaged(self.manifest_path)

    def save_manifest(self, manifest: Manifest) -> None:
        """Write the manifest with every shot's take list refreshed from disk."""
        if self.damaged_manifest is not None and self.manifest_path.is_file():
            os.replace(self.manifest_path, self.root / "manifest.json.damaged")
            self.notes.append(f"manifest.json did not read ({self.damaged_manifest}); kept as manifest.json.damaged, "
                              "rebuilt from the takes on disk (picks and locks it held may be lost)")
            self.damaged_manifest = None
        for shot_id, entry in manifest.shots.items():
            entry.takes = [take.entry(self.root) for take in self.takes(shot_id)]
        write_json(self.manifest_path, manifest.model_dump(mode="json"))

    def save_report(self, report: Report) -> None:
        write_json(self.report_path, report.model_dump(mode="json"))


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _salvaged(path: Path) -> Manifest:
    """What of a damaged manifest still validates, field by field and shot by shot."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except ValueError:
        return Manifest()
    if not isinstance(data, dict):
        return Manifest()
    manifest = Manifest()
    for name in ("writer", "caption_model", "size", "steps"):
        try:
            manifest = Manifest.model_validate({**manifest.model_dump(), name: data.get(name)})
        except ValidationError:
            continue
    for shot_id, entry in (data.get("shots") if isinstance(data.get("shots"), dict) else {}).items():
        try:
            manifest.shots[str(shot_id)] = ShotEntry.model_validate(entry)
        except ValidationError:
            continue
    return manifest


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
