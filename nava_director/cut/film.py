"""The cut's entry point: shots in, film.mp4 + film.srt + film.vtt + film.otio out (docs/architecture.md, "The cut").

The film has a key, the hash of its takes (file contents) and the cut settings. It is kept
in film.json, written last: if film.json holds the current key and the outputs exist,
nothing is cut again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nava_director.cut.edit import CutShot, Edit, plan_edit
from nava_director.errors import InputError
from nava_director.project.files import atomic_path, write_text

CUT_VERSION = 1  # bump when the cut's output changes for the same inputs
FILM_RATES = (24, 25, 30)
CEILING_DBTP = -1.0  # the film's true-peak ceiling, on the decoded AAC
OUTPUTS = {"mp4": "film.mp4", "srt": "film.srt", "vtt": "film.vtt", "otio": "film.otio"}
SIDECAR = "film.json"


@dataclass(frozen=True)
class CutSettings:
    fps: int = 24  # the film's rate; 25 and 30 are retimed from the render rate
    loudness_lufs: float = -16.0
    burn_subtitles: bool = False
    language: str = "zh"  # the dialogue's language: the subtitle track's tag, the burn-in font
    title: str = "film"
    crf: int = 18  # for the frames the cut encodes itself


@dataclass(frozen=True)
class FilmResult:
    paths: dict[str, Path]  # mp4, srt, vtt, otio
    duration_s: float
    key: str
    reused: bool
    stream_copied: bool  # some of the clips' own H.264 packets went into the film unchanged


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def film_key(shots: list[CutShot], settings: CutSettings) -> str:
    """The hash of every take file and every setting that shapes the film: the takes' bytes,
    never their paths (which name the project as the command was given it: ``./sb.nava``,
    an absolute path, ``../sb.nava`` from another folder are one film)."""
    parts = [{**asdict(shot), "clip_path": None, "clip": _file_hash(Path(shot.clip_path))} for shot in shots]
    blob = json.dumps({"v": CUT_VERSION, "shots": parts, "settings": asdict(settings)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _reusable(out_dir: Path, key: str) -> dict | None:
    try:
        sidecar = json.loads((out_dir / SIDECAR).read_text())
    except (OSError, ValueError):
        return None
    sizes = sidecar.get("bytes") if isinstance(sidecar, dict) else None
    if not isinstance(sizes, dict) or sidecar.get("key") != key or not all(
        (out_dir / name).is_file() and (out_dir / name).stat().st_size == sizes.get(name)
        for name in OUTPUTS.values()
    ):  # a film file deleted, cut short or replaced since: cut again
        return None
    return sidecar


def _remove_leftovers(out_dir: Path) -> None:
    """What a cut killed mid-way left behind (the render's project lock keeps cuts one at a time)."""
    for work in out_dir.glob(".cut-*"):
        shutil.rmtree(work, ignore_errors=True)
    for partial in out_dir.glob(".film.*.partial"):
        partial.unlink(missing_ok=True)


def _check(shots: list[CutShot], settings: CutSettings) -> None:
    from nava_director.cut.mux import track_language

    if not shots:
        raise InputError("there are no shots to cut", hint="render at least one shot first")
    if settings.fps not in FILM_RATES:
        raise InputError(f"film rate {settings.fps} fps is not supported", hint="use 24, 25 or 30")
    track_language(settings.language)
    for shot in shots:
        if not Path(shot.clip_path).is_file():
            raise InputError(f"shot {shot.shot_id!r}: its take {shot.clip_path} is missing", hint="render it again")


def cut_film(shots: list[CutShot], out_dir: Path, settings: CutSettings = CutSettings()) -> FilmResult:
    """Cut the shots into a film in `out_dir`, unless the film there is already this cut."""
    out_dir = Path(out_dir)
    paths = {kind: out_dir / name for kind, name in OUTPUTS.items()}
    _check(shots, settings)
    key = film_key(shots, settings)
    if (done := _reusable(out_dir, key)) is not None:
        return FilmResult(paths, done["duration_s"], key, reused=True, stream_copied=done["stream_copied"])

    from nava_director.cut.otio import to_json
    from nava_director.cut.subtitles import film_cues, to_srt, to_vtt

    edit = plan_edit(shots, shots[0].fps)
    cues = film_cues(edit)
    _remove_leftovers(out_dir)
    write_text(paths["srt"], to_srt(cues))
    write_text(paths["vtt"], to_vtt(cues))
    write_text(paths["otio"], to_json(edit, settings.title, cues))
    frames, copied = _write_mp4(edit, cues, paths, settings)
    duration = frames / settings.fps
    sidecar = {"key": key, "duration_s": duration, "frames": frames, "fps": settings.fps}
    sizes = {name: (out_dir / name).stat().st_size for name in OUTPUTS.values()}
    write_text(out_dir / SIDECAR, json.dumps({**sidecar, "stream_copied": copied, "bytes": sizes}, indent=2))
    return FilmResult(paths, duration, key, reused=False, stream_copied=copied)


def _sound(edit: Edit, frames: int, settings: CutSettings) -> np.ndarray:
    """The mixed, loudness-normalised sound of `frames` film frames at the film rate."""
    from nava_director.cut.clipfile import SAMPLE_RATE, fit_length, read_audio, samples_for
    from nava_director.cut.loudness import normalise
    from nava_director.cut.mix import mix

    pcm = {
        p.shot.clip_path: fit_length(read_audio(p.shot.clip_path), samples_for(p.shot.frames, p.shot.fps))
        for p in edit.placements
    }
    sound = fit_length(mix(edit, pcm, SAMPLE_RATE), samples_for(frames, settings.fps))
    return _under_ceiling(sound, settings.loudness_lufs)


def _under_ceiling(sound: np.ndarray, target_lufs: float, tries: int = 4) -> np.ndarray:
    """The sound normalised to ``target_lufs`` with its true peak under CEILING_DBTP as it
    decodes from the film's AAC: where the encoder overshoots, the limiter's ceiling is lowered
    by the overshoot and the sound limited again (loudness kept; the ceiling wins over it)."""
    from nava_director.cut.clipfile import SAMPLE_RATE, aac_round_trip
    from nava_director.cut.loudness import normalise, true_peak_db

    ceiling = CEILING_DBTP
    for _ in range(tries):
        out = normalise(sound, SAMPLE_RATE, target_lufs, ceiling)
        over = true_peak_db(aac_round_trip(out)) - CEILING_DBTP
        if over <= 0:
            return out
        ceiling -= over + 0.1
    return out * np.float32(10 ** (-(over + 0.1) / 20))


def _read_takes(edit: Edit) -> dict:
    """Each take's video stream (demuxed, not decoded), checked against the plan."""
    from nava_director.cut.join import read_stream

    streams = {p.shot.clip_path: read_stream(p.shot.clip_path, edit.fps) for p in edit.placements}
    for p in edit.placements:
        if (found := streams[p.shot.clip_path].frames) != p.shot.frames:
            raise InputError(
                f"shot {p.shot.shot_id!r}: its take {p.shot.clip_path} has {found} frames, the plan {p.shot.frames}",
                hint="the take is damaged or was replaced; render that shot again",
            )
    if len(sizes := {s.size for s in streams.values()}) != 1:
        raise InputError(f"the takes differ in frame size {sorted(sizes)}", hint="render every shot at one size")
    return streams


def _write_mp4(edit: Edit, cues, paths: dict[str, Path], settings: CutSettings) -> tuple[int, bool]:
    """Copy/encode the picture, encode the sound, mux the subtitles; returns (frames, copied)."""
    from tempfile import TemporaryDirectory

    from nava_director.cut.burn import Burner, subtitle_font
    from nava_director.cut.join import Copy, Encode, encode_segment, film_headers, materialise, plan_segments
    from nava_director.cut.mux import mux_film, mux_picture_and_sound
    from nava_director.cut.picture import ClipFrames, film_frame
    from nava_director.cut.retime import retimed_length, source_frames

    streams = _read_takes(edit)
    size = next(iter(streams.values())).size
    headers = film_headers(size, settings.fps, settings.crf)
    frames = retimed_length(edit.frames, edit.fps, settings.fps)
    if settings.fps == edit.fps and not settings.burn_subtitles:
        segments = plan_segments(edit, streams, headers)
    else:  # every frame changes: retimed or written on
        segments = [Encode(0, frames)]

    clips, source = ClipFrames(), source_frames(edit.frames, edit.fps, settings.fps)
    burn = Burner(cues, subtitle_font(settings.language), size[1]) if settings.burn_subtitles else None

    def frame_at(t: int) -> np.ndarray:
        image = film_frame(edit, int(source[t]), clips)
        return burn(image, t / settings.fps) if burn else image

    def encode(segment: Encode, path: Path) -> None:
        encode_segment(segment, frame_at, size, settings.fps, settings.crf, path)

    out = paths["mp4"]
    with TemporaryDirectory(prefix=".cut-", dir=out.parent) as work:
        parts = materialise(segments, encode, Path(work), settings.fps)
        staged = Path(work) / "picture-and-sound.partial"
        mux_picture_and_sound(parts, _sound(edit, frames, settings), staged, settings.fps, headers)
        with atomic_path(out) as tmp:
            mux_film(staged, paths["srt"] if cues and not burn else None, tmp, settings.language, settings.title)
    return frames, any(isinstance(s, Copy) for s in segments)
