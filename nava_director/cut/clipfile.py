"""One clip on disk: an mp4 with H.264 picture and AAC stereo 48 kHz sound.

`write_clip` is atomic: the file is encoded under a temporary name that no reader takes
for a result (not ``*.mp4``), fsynced, then renamed into place. The sound is resampled to
48 kHz and trimmed or padded to exactly ``frames / fps`` seconds, so a clip's picture and
sound always end together.
"""

from __future__ import annotations

import os
from fractions import Fraction
from math import gcd
from pathlib import Path
from typing import Iterator

import numpy as np

from nava_director.clip import Clip
from nava_director.errors import NavaError
from nava_director.project.files import atomic_path

SAMPLE_RATE = 48_000
AUDIO_CODEC = "aac"
VIDEO_CODEC = "libx264"
PIX_FMT = "yuv420p"


def samples_for(frames: int, fps: float, rate: int = SAMPLE_RATE) -> int:
    """The number of audio samples that last exactly `frames` frames at `fps`."""
    return round(Fraction(frames) / Fraction(fps).limit_denominator(1001) * rate)


def resample(audio: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling of float32 [C, N] from `rate_in` to `rate_out`."""
    if rate_in == rate_out:
        return audio
    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    return resample_poly(audio, rate_out // g, rate_in // g, axis=-1).astype(np.float32)


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad [C, N] audio to exactly `n` samples."""
    if audio.shape[-1] >= n:
        return audio[..., :n]
    return np.pad(audio, ((0, 0), (0, n - audio.shape[-1])))


def as_stereo(audio: np.ndarray) -> np.ndarray:
    """float32 [2, N] from mono [N] / [1, N] or stereo [2, N]."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    if audio.shape[0] != 2:
        raise NavaError(f"clip audio must be mono or stereo [C, N], got shape {audio.shape}")
    return audio


def add_video_stream(container, width: int, height: int, fps: int, crf: int = 18):
    """An H.264 yuv420p stream: the one encoding every clip and every re-encoded film part share."""
    if width % 2 or height % 2:
        raise NavaError(
            f"frame size {width}x{height} cannot be encoded as yuv420p",
            hint="use an even width and height (e.g. --size 832x480)",
        )
    stream = container.add_stream(VIDEO_CODEC, rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, PIX_FMT
    stream.options = x264_options(fps, crf)
    return stream


def x264_options(fps: int, crf: int) -> dict[str, str]:
    """Closed one-second GOPs and content-independent headers ("stitchable"), so that whole
    GOPs of any clip can be stream-copied into a film next to freshly encoded frames."""
    params = f"keyint={fps}:min-keyint={fps}:scenecut=0:open-gop=0:stitchable=1"
    return {"crf": str(crf), "preset": "medium", "x264-params": params}


def add_audio_stream(container):
    stream = container.add_stream(AUDIO_CODEC, rate=SAMPLE_RATE, layout="stereo")
    stream.options = {"b": "192k"}
    return stream


def encode_frames(container, stream, frames: Iterator[np.ndarray]) -> None:
    import av

    for image in frames:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def audio_packets(stream, audio: np.ndarray, chunk: int = 1024) -> Iterator:
    """Encode float32 [2, N] audio at 48 kHz; the encoder re-frames it for AAC."""
    import av

    for start in range(0, audio.shape[1], chunk):
        piece = np.ascontiguousarray(audio[:, start : start + chunk], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = SAMPLE_RATE, start
        frame.time_base = Fraction(1, SAMPLE_RATE)
        yield from stream.encode(frame)
    yield from stream.encode(None)


def write_clip(clip: Clip, path: str | os.PathLike, crf: int = 18) -> Path:
    """Write `clip` to `path` (mp4: H.264 yuv420p + AAC stereo 48 kHz), atomically."""
    import av

    frames = np.asarray(clip.frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise NavaError(f"clip frames must be uint8 [T,H,W,3], got {frames.dtype} {frames.shape}")
    n = samples_for(frames.shape[0], clip.fps)
    audio = fit_length(resample(as_stereo(clip.audio), clip.sample_rate), n)
    path = Path(path)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            video = add_video_stream(container, frames.shape[2], frames.shape[1], clip.fps, crf)
            sound = add_audio_stream(container)
            encode_frames(container, video, iter(frames))
            container.mux(list(audio_packets(sound, audio)))
    return path


def _decode_video(container) -> Iterator[np.ndarray]:
    for frame in container.decode(video=0):
        yield frame.to_ndarray(format="rgb24")


def read_audio(path: str | os.PathLike, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The file's first audio stream as float32 [2, N] at `rate` (zero-length if it has none)."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return np.zeros((2, 0), np.float32)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        chunks = [
            out.to_ndarray()
            for frame in container.decode(audio=0)
            for out in resampler.resample(frame)
        ]
        chunks += [out.to_ndarray() for out in resampler.resample(None)]
    return np.concatenate(chunks, axis=1).astype(np.float32) if chunks else np.zeros((2, 0), np.float32)


def aac_round_trip(audio: np.ndarray) -> np.ndarray:
    """``audio`` (float32 [2, N] at 48 kHz) as it decodes after the film's AAC encoding:
    the encoder's overshoot is what a true-peak ceiling must also hold against."""
    import io

    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = add_audio_stream(container)
        for packet in audio_packets(stream, audio):
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as container:
        chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
    return np.concatenate(chunks, axis=1).astype(np.float32) if chunks else np.zeros((2, 0), np.float32)


def read_clip(path: str | os.PathLike) -> Clip:
    """Decode a clip file: all frames (uint8 [T,H,W,3]) and its sound at 48 kHz, cut to the frames."""
    import av

    with av.open(str(path)) as container:
        fps = int(round(container.streams.video[0].average_rate))
        frames = np.stack(list(_decode_video(container)))
    audio = fit_length(read_audio(path), samples_for(frames.shape[0], fps))
    return Clip(frames=frames, audio=audio, sample_rate=SAMPLE_RATE, fps=fps)


def read_first_frame(path: str | os.PathLike) -> np.ndarray:
    """The clip's first frame, uint8 [H,W,3], decoding only as far as it."""
    import av

    with av.open(str(path)) as container:
        return next(_decode_video(container))


def read_last_frame(path: str | os.PathLike) -> np.ndarray:
    """The clip's last frame, uint8 [H,W,3], decoding only its last GOP."""
    import av

    last = None
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration:  # to the last keyframe at or before the end
            container.seek((stream.start_time or 0) + stream.duration, stream=stream, backward=True)
        for last in _decode_video(container):
            pass
    if last is None:
        raise NavaError(f"{path} has no video frames", hint="delete the take and render it again")
    return last
