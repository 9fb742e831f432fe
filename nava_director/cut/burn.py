"""Burnt-in subtitles: the cues drawn onto the picture with a font that covers the language."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

from nava_director.cut.subtitles import Cue
from nava_director.errors import NavaError


@lru_cache(maxsize=None)
def subtitle_font(language: str) -> Path:
    """A font file covering `language`, as fontconfig chooses it (``fc-match :lang=zh``)."""
    if shutil.which("fc-match") is None:
        raise NavaError("burning subtitles needs fontconfig (fc-match)", hint="apt install fontconfig")
    pattern = f":lang={language}"
    covering = subprocess.run(["fc-list", pattern, "file"], capture_output=True, text=True).stdout.strip()
    if not covering:
        raise NavaError(
            f"no installed font covers language {language!r}, so its subtitles cannot be burnt in",
            hint="install one (e.g. apt install fonts-noto-cjk), or leave the subtitles soft",
        )
    found = subprocess.run(["fc-match", "--format=%{file}", pattern], capture_output=True, text=True)
    return Path(found.stdout.strip())


class Burner:
    """Draws the cue on screen at a given time onto a frame, bottom-centred with an outline."""

    def __init__(self, cues: list[Cue], font: Path, height: int):
        from PIL import ImageFont

        self.cues = cues
        self.font = ImageFont.truetype(str(font), size=max(10, height // 14))
        self.stroke = max(1, height // 180)

    def _lines(self, draw, text: str, width: int) -> list[str]:
        lines = []
        for paragraph in text.split("\n"):  # a cue's own line breaks are kept
            lines.append("")
            for ch in paragraph:
                if draw.textlength(lines[-1] + ch, font=self.font) > width * 0.9 and lines[-1]:
                    lines.append("")
                lines[-1] += ch
        return lines

    def __call__(self, frame: np.ndarray, seconds: float) -> np.ndarray:
        cue = next((c for c in self.cues if c.start <= seconds < c.end), None)
        if cue is None:
            return frame
        from PIL import Image, ImageDraw

        image = Image.fromarray(frame)
        draw = ImageDraw.Draw(image)
        h, w = frame.shape[:2]
        text = "\n".join(self._lines(draw, cue.text, w))
        draw.multiline_text(
            (w / 2, h - h // 20), text, font=self.font, anchor="md", align="center",
            fill="white", stroke_width=self.stroke, stroke_fill="black",
        )
        return np.asarray(image)
