"""The review page's one door to the project: what it shows, and the actions it offers.

Everything here goes through the functions the CLI uses (``status`` for the `takes` view,
``pick``, ``set_locked``, ``render``), so a pick made on the page is the pick the next
`render` cuts. Nothing else in ``review/`` imports the project library.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nava_director.config import load_settings
from nava_director.cut.edit import plan_edit
from nava_director.errors import InputError, NavaError
from nava_director.render import Director, Progress, RenderOptions, ShotState, camera_text, pick, render, \
    set_locked, status
from nava_director.store import META, Project, Report, Take
from nava_director.storyboard import RENDER_FPS

FILM = {"mp4": "film.mp4", "vtt": "film.vtt"}
WATCHED = ("manifest.json", "report.json", "film.mp4", "film.vtt")  # beside the takes' meta.json


@dataclass(frozen=True)
class ReviewOptions:
    """What `review` was asked: the storyboard and the flags that shape the shots' keys."""

    storyboard: Path
    out: Path | None = None
    engine: str | None = None
    weights: Path | None = None
    size: str | None = None

    def flags(self) -> dict[str, Any]:
        return {"out": self.out, "engine": self.engine, "weights": self.weights, "size": self.size}


def lock_holder(root: Path) -> int | None:
    """The pid holding the project's lock (``Project.locked``), or None; never takes it.

    Linux lists every ``flock`` in /proc/locks by inode: probing with ``flock`` itself
    would, for an instant, make a render starting elsewhere fail. Elsewhere: the pid the
    holder wrote in ``.lock``, if that process is alive.
    """
    path = root / ".lock"
    try:
        inode = path.stat().st_ino
    except OSError:
        return None
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return _pid_alive(path)
    for line in lines:
        parts = line.split()  # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146981 0 EOF"; waiters have "->"
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
            return int(parts[4])
    return None


def _pid_alive(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip() or 0)
        if pid:
            os.kill(pid, 0)
            return pid
    except (OSError, ValueError):
        pass
    return None


class ReviewProject:
    """A storyboard's project as the review page sees it."""

    def __init__(self, options: ReviewOptions):
        self.options = options
        self.storyboard = options.storyboard.resolve()
        settings = load_settings(self.storyboard, options.flags())
        self.root = settings.project_dir(self.storyboard).resolve()
        self._inputs: list[Path] = [self.storyboard]  # the files the last view was made from
        self._view: tuple[str, dict[str, Any]] | None = None

    # ---- what is shown ----------------------------------------------------------------

    def director(self) -> Director:
        """A director for the project as it was last rendered: its caption writer, size and steps
        (as `takes` assumes them), so the page's keys and new takes match the terminal's `render`."""
        manifest = Project(self.root).manifest()
        flags = self.options.flags()
        if manifest.writer:
            flags |= {"rewriter": manifest.writer, "vllm_model": manifest.caption_model}
        director = Director(self.storyboard, load_settings(self.storyboard, flags))
        if director.settings.size is None and manifest.size:
            director.size = tuple(manifest.size)
        director.steps = manifest.steps
        return director

    def version(self) -> str:
        """A fingerprint of everything the page shows: changes when anything is written."""
        paths = [*self._inputs, *(self.root / name for name in WATCHED)]
        paths += sorted(self.root.glob(f"shots/*/take-*/{META}"))
        paths += sorted(self.root.glob("captions/*"))
        h = hashlib.sha1()
        for path in paths:
            try:
                st = path.stat()
                h.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
            except OSError:
                h.update(f"{path}\0-\n".encode())
        return h.hexdigest()[:16]

    def view(self) -> tuple[str, dict[str, Any]]:
        """(version, the project as JSON data); made again only when the version changes."""
        version = self.version()
        if self._view is None or self._view[0] != version:
            while True:  # the version covers the storyboard's own files, known once it is loaded
                inputs = list(self._inputs)
                view = self._build()
                if self._inputs == inputs:
                    break
                version = self.version()
            self._view = (version, view)
        return self._view

    def shot_ids(self) -> set[str]:
        return {shot["id"] for shot in self.view()[1]["shots"]}

    def _build(self) -> dict[str, Any]:
        director = self.director()
        loaded = director.plan.storyboard
        sb = loaded.storyboard
        self._inputs = [self.storyboard, *([sb.cast] if sb.cast else [])]
        self._inputs += [c.voice for c in sb.characters.values() if c.voice]
        self._inputs += [job.image for job in director.plan.jobs if job.image]
        states = {s.job.shot: s for s in status(director)}
        placements = {p.shot.shot_id: p for p in plan_edit(director.cut_shots(), RENDER_FPS).placements}
        names = {cid: c.name or cid for cid, c in sb.characters.items()}
        shots = []
        for job in director.plan.film:
            state = states[job.shot]
            placement = placements[job.shot]
            shots.append({
                "id": job.shot,
                "scene": job.scene,
                "setting": job.setting,
                "duration_s": job.seconds,
                "camera": camera_text(job.spec.camera),
                "action": job.spec.action or "",
                "sound": job.spec.sound or "",
                "dialogue": [{"who": names.get(s.speaker, s.speaker) if s.speaker else None, "line": s.text}
                             for s in job.spec.spans()],
                "caption": state.key.caption if state.key else None,
                "continue_from": job.continue_from,
                "seed": job.seed,
                "status": state.status,
                "chosen": state.chosen.n if state.chosen else None,
                "picked": state.entry.picked,
                "locked": state.entry.locked,
                "film": {"start_s": placement.start / RENDER_FPS, "length_s": placement.length / RENDER_FPS},
                "takes": [self._take(t, state, director.project.root) for t in state.takes],
            })
        return {
            "title": loaded.title,
            "storyboard": str(self.storyboard),
            "root": str(self.root),
            "film": self._film(),
            "shots": shots,
        }

    def _take(self, take: Take, state: ShotState, root: Path) -> dict[str, Any]:
        try:
            stamp = (take.folder / META).stat().st_mtime_ns
            meta = json.loads((take.folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp, meta = 0, {}
        folder = take.folder.relative_to(root).as_posix()
        chosen = state.chosen is not None and state.chosen.n == take.n
        return {
            "n": take.n,
            "seed": take.seed,
            "current": state.key is not None and take.key == state.key.value,
            "chosen": chosen,
            "picked": state.entry.picked == take.n,
            "locked": state.entry.locked and chosen,
            "clip": self.url(f"{folder}/{take.clip.name}", stamp),
            "poster": self.url(f"{folder}/{take.first_frame.name}", stamp),
            "last_frame": self.url(f"{folder}/{take.last_frame.name}", stamp),
            "timings": take.timings,
            "engine": meta.get("engine"),
            "checks": meta.get("checks"),  # the take checks, where they ran; shown as they are
        }

    def _film(self) -> dict[str, Any] | None:
        paths = {kind: self.root / name for kind, name in FILM.items()}
        if not paths["mp4"].is_file():
            return None
        out: dict[str, Any] = {kind: self.url(p.name, p.stat().st_mtime_ns) for kind, p in paths.items() if p.is_file()}
        try:
            report = json.loads((self.root / "report.json").read_text(encoding="utf-8"))
            out["duration_s"] = (report.get("film") or {}).get("duration_s")
        except (OSError, ValueError):
            pass
        return out

    @staticmethod
    def url(relative: str, stamp: int) -> str:
        """The page's URL of a file of the project folder (``?v=``: a new URL when it is rewritten)."""
        return f"/media/{quote(relative)}?v={stamp}"

    # ---- what the page can do ---------------------------------------------------------

    def busy(self) -> int | None:
        """The pid of a process rendering or writing the project now, or None."""
        return lock_holder(self.root)

    def pick(self, shot: str, n: int, lock: bool = False) -> dict[str, Any]:
        take = pick(self.director(), shot, n, lock)
        return {"shot": shot, "take": take.n, "seed": take.seed, "locked": lock}

    def set_locked(self, shot: str, locked: bool) -> dict[str, Any]:
        entry = set_locked(self.director(), shot, locked)
        return {"shot": shot, "locked": entry.locked, "chosen": entry.chosen}

    def new_take(self, shot: str, progress: Progress | None = None) -> list[int]:
        """`render --shot SHOT --takes 1`: the numbers of the takes made (not in the film until picked)."""
        director = self.director()
        if shot not in {job.shot for job in director.plan.jobs}:
            raise InputError(f"no shot {shot!r} in {self.storyboard}")
        report: Report = render(director, RenderOptions(shots=(shot,), takes=1), progress)
        if report.failed:
            raise NavaError("; ".join(f"{f.shot}: {f.error}" for f in report.failed))
        return report.new_takes.get(shot, [])
