"""Muxing the film: the picture's packets and the encoded sound into one mp4 (PyAV), then
the soft subtitle track (mov_text, language-tagged) and the title beside them, by stream
copy, with the index moved to the front (the ffmpeg binary: PyAV cannot encode mov_text)."""

from __future__ import annotations

import heapq
import subprocess
from pathlib import Path

import numpy as np

from nava_director.cut.clipfile import add_audio_stream, audio_packets
from nava_director.cut.join import Copy, video_packets
from nava_director.errors import InputError, NavaError

# ISO 639-1 (what a storyboard says) -> ISO 639-2/B (what an mp4 track is tagged with)
ISO639_2 = {
    "zh": "chi", "en": "eng", "ja": "jpn", "ko": "kor", "fr": "fre", "de": "ger", "es": "spa",
    "it": "ita", "pt": "por", "ru": "rus", "ar": "ara", "hi": "hin", "yue": "chi",
}  # fmt: skip


def track_language(language: str) -> str:
    code = language.lower().split("-")[0]
    if len(code) == 3 and code.isalpha():
        return code
    if code not in ISO639_2:
        raise InputError(
            f"unknown subtitle language {language!r}",
            hint=f"use one of {', '.join(sorted(ISO639_2))} or a three-letter ISO 639-2 code",
        )
    return ISO639_2[code]


def mux_picture_and_sound(parts: list[Copy], sound: np.ndarray, path: Path, fps: int, headers) -> None:
    """Write `path` (mp4): the film's video packets copied from `parts`, its sound encoded,
    the two interleaved by time."""
    import av

    with av.open(str(parts[0].clip.path)) as template, av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream_from_template(template.streams.video[0])
        audio = add_audio_stream(container)
        sound_packets = list(audio_packets(audio, sound))  # small: a few kB a second
        pictures = (_on(video, packet) for packet in video_packets(parts, fps, headers))
        for packet in heapq.merge(pictures, sound_packets, key=lambda p: p.dts * p.time_base):
            container.mux(packet)


def _on(stream, packet):
    packet.stream = stream
    return packet


def mux_film(picture_and_sound: Path, subtitles: Path | None, out: Path, language: str, title: str) -> None:
    """Write `out` (mp4) from the picture+sound file and, if given, an SRT as a soft track."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-i", str(picture_and_sound)]
    if subtitles is not None:
        cmd += ["-i", str(subtitles), "-map", "0:v", "-map", "0:a", "-map", "1:s", "-c:s", "mov_text"]
        cmd += ["-metadata:s:s:0", f"language={track_language(language)}"]
    cmd += ["-c:v", "copy", "-c:a", "copy", "-metadata", f"title={title}", "-movflags", "+faststart"]
    cmd += ["-f", "mp4", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise NavaError(f"muxing the film failed: {done.stderr.strip()[-500:]}", hint="run again with --debug")
