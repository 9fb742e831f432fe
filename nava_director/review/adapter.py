"""The review page's one door to the project: what it shows, and the actions it offers.

Everything here goes through the functions the CLI uses (``status`` for the `takes` view,
``pick``, ``set_locked``, ``render``), so a pick made on the page is the pick the next
`render` cuts. Nothing else in ``review/`` imports the project library.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nava_director.cut.edit import plan_edit
from nava_director.engines.base import Engine
from nava_director.errors import NavaError
from nava_director.progress import Progress
from nava_director.project.folder import Project
from nava_director.project.takes import META, Take
from nava_director.render.decide import ShotState, camera_text
from nava_director.render.jobs import RenderOptions
from nava_director.render.run import cut_shots, render
from nava_director.render.take_commands import pick, set_locked, status
from nava_director.session import ProjectArgs, Session, open_project
from nava_director.settings import load_settings
from nava_director.storyboard.model import RENDER_FPS

FILM = {"mp4": "film.mp4", "vtt": "film.vtt"}
WATCHED = ("manifest.json", "report.json", "film.mp4", "film.vtt")  # beside the takes' meta.json


def checks_list(raw: Any) -> list[dict[str, Any]] | None:
    """A take's check results (``meta.json``'s ``checks``, where they ran) as one list of
    ``{name, status: pass|fail|warn|not-run|None, value, threshold, unit, reason}``.

    The checks' record (``{"results": [{"check", "status", "reason", "value", ...}], ...}``)
    is read as such; any other shape (``{name: bool | {ok, ...}}``, a list) as well as it can be.
    """
    if raw is None:
        return None
    if isinstance(raw, dict) and isinstance(raw.get("results"), list):
        items: list[tuple[str, Any]] = [(str(r.get("check", "?")), r) for r in raw["results"] if isinstance(r, dict)]
    elif isinstance(raw, dict):
        items = [(str(name), value) for name, value in raw.items()]
    elif isinstance(raw, list):
        items = [(str(r.get("check") or r.get("name") or i + 1) if isinstance(r, dict) else str(i + 1), r)
                 for i, r in enumerate(raw)]
    else:
        items = [("checks", raw)]
    return [_check(name, value) for name, value in items]


def _check(name: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "status": None, "value": None, "threshold": None, "unit": "", "reason": ""}
    if isinstance(value, bool):
        out["status"] = "pass" if value else "fail"
    elif isinstance(value, dict):
        ok = next((value[k] for k in ("ok", "passed", "pass") if isinstance(value.get(k), bool)), None)
        status = value.get("status")
        out["status"] = status if isinstance(status, str) else None if ok is None else "pass" if ok else "fail"
        out["value"] = next((value[k] for k in ("value", "score") if isinstance(value.get(k), (int, float))), None)
        out["threshold"] = value.get("threshold") if isinstance(value.get("threshold"), (int, float)) else None
        out["unit"] = str(value.get("unit") or "")
        reason = next((value[k] for k in ("reason", "message", "note") if value.get(k)), None)
        rest = {k: v for k, v in value.items() if k not in {"ok", "passed", "pass", "status", "value", "score",
                                                             "threshold", "unit", "reason", "message", "note",
                                                             "check", "name", "lines"}}
        out["reason"] = str(reason) if reason else ", ".join(f"{k} {v}" for k, v in rest.items())
    else:
        out["value" if isinstance(value, (int, float)) else "reason"] = value if isinstance(value, (int, float)) \
            else str(value)
    return out


class ReviewProject:
    """A storyboard's project as the review page sees it. ``env`` and ``user_config`` as for
    :func:`~nava_director.session.open_project` (tests keep the machine's out)."""

    def __init__(self, args: ProjectArgs, env: Mapping[str, str] | None = None, user_config: Path | None = None):
        self.args = replace(args, storyboard=args.storyboard.resolve())
        self.env, self.user_config = env, user_config
        settings = load_settings(self.storyboard, args.flags(), env=env, user_config=user_config)
        self.root = settings.project_dir(self.storyboard).resolve()
        self._inputs: list[Path] = [self.storyboard]  # the files the last view was made from
        self._view: tuple[str, dict[str, Any]] | None = None
        self._engine: Engine | None = None  # the engine of the last new take (jobs run one at a time)

    @property
    def storyboard(self) -> Path:
        return self.args.storyboard

    # ---- what is shown ----------------------------------------------------------------

    def session(self, as_last_rendered: bool = False) -> Session:
        """The project opened as the CLI opens it, with the caption writer it was rendered with
        (unless one was named); ``as_last_rendered``: also its last render's size and steps, so
        a new take from the page is of the same inputs as the terminal's takes (``status`` and
        ``pick`` assume them by themselves)."""
        manifest = Project(self.root).manifest()
        args = self.args
        if args.rewriter is None and manifest.writer:
            args = replace(args, rewriter=manifest.writer, vllm_model=args.vllm_model or manifest.caption_model)
        if as_last_rendered:
            size = args.size or (tuple(manifest.size) if manifest.size else None)
            args = replace(args, size=size, steps=args.steps or manifest.steps)
        return open_project(args, env=self.env, user_config=self.user_config)

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
        session = self.session()
        loaded = session.loaded
        sb = loaded.storyboard
        self._inputs = [self.storyboard, *([sb.cast] if sb.cast else [])]
        self._inputs += [c.voice for c in sb.characters.values() if c.voice]
        self._inputs += [job.image for job in session.plan.jobs if job.image]
        states = {s.job.shot: s for s in status(session)}
        placements = {p.shot.shot_id: p for p in plan_edit(cut_shots(session), RENDER_FPS).placements}
        names = {cid: c.name or cid for cid, c in sb.characters.items()}
        shots = []
        for job in session.plan.film:
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
                "takes": [self._take(t, state, session.project.root) for t in state.takes],
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
            "checks": checks_list(meta.get("checks")),
            "checks_raw": meta.get("checks"),  # as the take's meta.json holds it
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
        return Project(self.root).holder()

    def pick(self, shot: str, n: int, lock: bool = False) -> dict[str, Any]:
        take = pick(self.session(), shot, n, lock)
        return {"shot": shot, "take": take.n, "seed": take.seed, "locked": lock}

    def set_locked(self, shot: str, locked: bool) -> dict[str, Any]:
        entry = set_locked(self.session(), shot, locked)
        return {"shot": shot, "locked": entry.locked, "chosen": entry.chosen}

    def new_take(self, shot: str, progress: Progress | None = None) -> list[int]:
        """`render --shot SHOT --takes 1`: the numbers of the takes made (not in the film until picked)."""
        session = self.session(as_last_rendered=True)
        if self._engine is not None and self._engine.id == session.engine.id:
            session = replace(session, given_engine=self._engine)  # its weights stay loaded between takes
        self._engine = session.engine
        report = render(session, RenderOptions(shots=(shot,), takes=1), progress)
        if report.failed:
            raise NavaError("; ".join(f"{f.shot}: {f.error}" for f in report.failed))
        return report.new_takes.get(shot, [])
