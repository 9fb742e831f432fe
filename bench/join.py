"""Joining clips that agree: stream copy against re-encoding, with the cut's own functions.

Twenty clips of one size and rate, written by the cut's ``write_clip`` (closed one-second
GOPs, stitchable headers), are joined with hard cuts into one picture track twice, the
way ``cut_film`` does it: once copying their GOPs (``plan_segments``: every GOP is
copied), once re-encoding every frame (the path a retimed or burnt-in film takes). The
sound is left out of both: it is encoded alike either way.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from nava_director.clip import Clip
from nava_director.cut import CutShot, write_clip
from nava_director.cut.edit import plan_edit
from nava_director.cut.join import Copy, Encode, encode_segment, film_headers, materialise, plan_segments, read_stream
from nava_director.cut.mux import mux_picture_and_sound
from nava_director.cut.picture import ClipFrames, film_frame

FPS, CRF = 24, 18


def synthetic_clip(index: int, width: int, height: int, frames: int) -> Clip:
    """A moving gradient with a travelling square: cheap to make, not trivial to encode."""
    y, x = np.mgrid[0:height, 0:width]
    images = []
    for t in range(frames):
        image = np.stack([(x + 3 * t) % 256, (y + 7 * index) % 256, (x + y + 5 * t) % 256], axis=-1)
        left = (t * 4 + index * 16) % max(1, width - 16)
        image[height // 3 : height // 3 + 16, left : left + 16] = 255
        images.append(image.astype(np.uint8))
    audio = np.zeros((2, round(frames / FPS * 48_000)), np.float32)
    return Clip(frames=np.stack(images), audio=audio, sample_rate=48_000, fps=FPS)


def join(shots: list[CutShot], out: Path, copy: bool) -> tuple[float, int]:
    """Join the shots' pictures into ``out``; seconds taken and frames stream-copied."""
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    edit = plan_edit(shots, FPS)
    streams = {s.clip_path: read_stream(s.clip_path, FPS) for s in shots}
    size = next(iter(streams.values())).size
    headers = film_headers(size, FPS, CRF)
    segments = plan_segments(edit, streams, headers) if copy else [Encode(0, edit.frames)]
    clips = ClipFrames()

    def encode(segment: Encode, path: Path) -> None:
        encode_segment(segment, lambda t: film_frame(edit, t, clips), size, FPS, CRF, path)

    parts = materialise(segments, encode, out.parent, FPS)
    mux_picture_and_sound(parts, np.zeros((2, 0), np.float32), out, FPS, headers)
    copied = sum(s.gop.stop - s.gop.first for s in segments if isinstance(s, Copy))
    return time.perf_counter() - started, copied


def write_clips(folder: Path, clips: int, width: int, height: int, frames: int) -> list[CutShot]:
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for i in range(clips):
        path = write_clip(synthetic_clip(i, width, height, frames), folder / f"clip{i:02d}.mp4", crf=CRF)
        shots.append(CutShot(shot_id=f"s{i}", clip_path=path, frames=frames, fps=FPS))
    return shots


def best_join(shots: list[CutShot], out: Path, copy: bool, rounds: int) -> tuple[float, int]:
    """The best of ``rounds`` joins (seconds, frames copied)."""
    runs = [join(shots, out.parent / f"{out.parent.name}-{i}" / out.name, copy) for i in range(rounds)]
    return min(s for s, _ in runs), runs[0][1]


def run(clips: int = 20, width: int = 640, height: int = 352, seconds: float = 1.0, rounds: int = 3) -> dict:
    """Copy vs re-encode at ``width`` x ``height``; the copy again at half the size (time vs
    resolution). Each the best of ``rounds``, after one join that loads the codecs."""
    frames = 4 * round(seconds * FPS / 4) + 1
    half = (width // 4 * 2, height // 4 * 2)
    with tempfile.TemporaryDirectory(prefix="nava-bench-join-") as tmp:
        folder = Path(tmp)
        shots = write_clips(folder / "full", clips, width, height, frames)
        half_shots = write_clips(folder / "half", clips, *half, frames)
        join(half_shots, folder / "warm-up" / "film.mp4", copy=True)  # first use of the codecs and muxer
        copy_s, copied = best_join(shots, folder / "copy" / "film.mp4", True, rounds)
        encode_s, _ = best_join(shots, folder / "encode" / "film.mp4", False, 1)  # seconds: noise is small
        film_frames = read_stream(folder / "copy" / "copy-0" / "film.mp4", FPS).frames
        half_copy_s, _ = best_join(half_shots, folder / "half-copy" / "film.mp4", True, rounds)
    total = clips * frames
    return {
        "clips": clips,
        "size": f"{width}x{height}",
        "frames": total,
        "copied_frames": copied,
        "film_frames": film_frames,
        "copy_s": round(copy_s, 3),
        "reencode_s": round(encode_s, 3),
        "join_copy_vs_reencode_speedup": round(encode_s / copy_s, 1),
        "copy_s_by_size": {f"{width}x{height}": round(copy_s, 3), f"{half[0]}x{half[1]}": round(half_copy_s, 3)},
    }
