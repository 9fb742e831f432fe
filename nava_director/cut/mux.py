"""The film's last pass: the soft subtitle track (mov_text, language-tagged) and the title
muxed beside the picture and sound, by stream copy, with the index moved to the front."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
