"""Takes: a finished take on disk (:class:`Take`) and a new one to write (:class:`NewTake`).

A take is (key, seed) -> clip, in ``shots/<id>/take-NNN/`` with its frames at both ends and
``meta.json``, which is written last: a take folder without one is never trusted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from nava_director.clip import Clip
from nava_director.project.keys import ShotKey
from nava_director.project.manifest import TakeEntry

CLIP, FIRST_FRAME, LAST_FRAME, META = "clip.mp4", "first_frame.png", "last_frame.png", "meta.json"


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
    frames: int | None = None  # as its meta.json says (None: a take from before it was recorded)

    @property
    def clip(self) -> Path:
        return self.folder / CLIP

    @property
    def first_frame(self) -> Path:
        return self.folder / FIRST_FRAME

    @property
    def last_frame(self) -> Path:
        return self.folder / LAST_FRAME

    def problem(self) -> str | None:
        """Why the take cannot be used, from a cheap look (no decoding): its files are there and
        not empty, its clip's container opens, and it holds the frames its meta.json says."""
        for path in (self.clip, self.last_frame):
            if not path.is_file():
                return f"{path.name} is missing"
            if path.stat().st_size == 0:
                return f"{path.name} is empty"
        import av
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.last_frame) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            return f"{LAST_FRAME} does not read ({error})"
        try:
            with av.open(str(self.clip)) as container:
                if not container.streams.video:
                    return f"{CLIP} has no picture"
                stream = container.streams.video[0]
                frames = stream.frames
                if self.frames is not None and frames and frames != self.frames:
                    return f"{CLIP} holds {frames} frames, its meta.json {self.frames}"
                if not frames and stream.duration is None and container.duration is None:
                    return f"{CLIP} has no length"
        except (av.error.FFmpegError, OSError, ValueError, IndexError) as error:
            return f"{CLIP} does not open ({error})"
        return None

    def entry(self, root: Path) -> TakeEntry:
        files = {
            role: str((self.folder / name).relative_to(root))
            for role, name in (("clip", CLIP), ("first_frame", FIRST_FRAME), ("last_frame", LAST_FRAME))
        }
        return TakeEntry(n=self.n, key=self.key, seed=self.seed, files=files, timings=self.timings)


@dataclass(frozen=True)
class TakeMeta:
    """What a take was made from, as ``meta.json`` shows it (a reader's view of its key)."""

    engine: str
    caption: str
    writer: str
    width: int
    height: int
    frames: int
    fps: int
    steps: int

    @classmethod
    def of(cls, key: ShotKey) -> TakeMeta:
        return cls(key.engine, key.caption, key.writer, key.width, key.height, key.frames, key.fps, key.steps)


@dataclass(frozen=True)
class NewTake:
    """A rendered clip on its way to the project folder (sent to rank 0 by a --gpus group leader)."""

    shot: str
    key: str  # ShotKey.value
    seed: int
    clip: Clip
    meta: TakeMeta
    render_s: float  # how long the engine took
    crf: int = 18  # H.264 quality of the clip file

    def meta_json(self, n: int, last_frame_hash: str) -> dict:
        return {
            **asdict(self.meta),
            "shot": self.shot,
            "n": n,
            "key": self.key,
            "seed": self.seed,
            "last_frame_hash": last_frame_hash,
            "timings": self.timings,
        }

    @property
    def timings(self) -> dict[str, float]:
        return {"render_s": round(self.render_s, 3)}
