"""The animatic's storyboard card: a background plate and a text overlay, drawn with Pillow.

The plate is what the simulated camera moves over; the overlay (scene, shot, camera,
action, the line being spoken) is drawn on top of every frame, fixed, so it stays readable
whatever the camera does. Text uses a CJK-capable font found through fontconfig.
"""

from __future__ import annotations

import colorsys
import functools
import re
import subprocess
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nava_director.errors import NavaError
from nava_director.project.keys import fraction

MIN_FONT_PX = 7
INK = (245, 245, 240, 255)
SPEECH_INK = (255, 214, 90, 255)
META_INK = (190, 200, 210, 255)
PANEL = (12, 14, 20, 225)
_TOKEN = re.compile(r"[A-Za-z0-9\u00c0-\u024f'’\-.,!?;:]+|\s+|.", re.DOTALL)
_FONT_HINT = "install a CJK font, e.g. `apt-get install fonts-noto-cjk` (check with `fc-list :lang=zh`)"


@functools.cache
def cjk_font_file() -> tuple[str, int]:
    """(file, face index) of a font that covers Chinese, as fontconfig chooses it."""
    try:
        chosen = subprocess.run(
            ["fc-match", "-f", "%{file}\n%{index}", "sans-serif:lang=zh-cn"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        covering = subprocess.run(
            ["fc-list", "-f", "%{file}\n", ":lang=zh"], capture_output=True, text=True, check=True
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        raise NavaError("fontconfig (fc-match) is not available to find a CJK font", hint=_FONT_HINT) from None
    if chosen[0] not in covering:  # fc-match always answers; only fc-list knows coverage
        raise NavaError("no font with Chinese glyphs is installed for the animatic's cards", hint=_FONT_HINT)
    return chosen[0], int(chosen[1] or 0)


@functools.cache
def font(px: int) -> ImageFont.FreeTypeFont:
    path, index = cjk_font_file()
    return ImageFont.truetype(path, px, index=index)


def plate(width: int, height: int, scene: str, shot: str, rng: np.random.Generator) -> Image.Image:
    """A background for a shot with no first frame: the scene's colour, a horizon, shapes.

    The hue comes from the scene (shots of one scene look alike), the shapes from the seed
    (takes differ), the faint shot id in the middle from the shot.
    """
    hue = fraction(scene)
    sky = np.array(colorsys.hsv_to_rgb(hue, 0.35, 0.55)) * 255
    ground = np.array(colorsys.hsv_to_rgb((hue + 0.08) % 1, 0.45, 0.3)) * 255
    horizon = int(height * rng.uniform(0.5, 0.65))
    y = np.arange(height)[:, None, None]
    shade = np.clip(1.0 - 0.5 * np.abs(y - horizon) / height, 0, 1)
    pixels = np.where(y < horizon, sky, ground) * shade * np.ones((1, width, 1))
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(7):  # figures / props: something for the camera move to travel over
        x, r = rng.uniform(0, width), rng.uniform(0.04, 0.12) * height
        cy = horizon - rng.uniform(0, 0.6) * r
        tone = tuple(int(c) for c in colorsys.hsv_to_rgb(rng.uniform(), 0.4, 0.85) * np.array(255))
        draw.ellipse((x - r, cy - r, x + r, cy + r), outline=tone, width=max(1, height // 100))
    for gx in np.linspace(0, width, 9):  # perspective lines on the ground
        draw.line((width / 2, horizon, gx + (gx - width / 2) * 2, height), fill=(0, 0, 0), width=1)
    label = font(max(MIN_FONT_PX, height // 5))
    draw.text((width / 2, horizon / 2), shot, font=label, fill=(255, 255, 255), anchor="mm")
    return Image.blend(image, Image.new("RGB", image.size, tuple(int(c) for c in sky)), 0.25)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``: Chinese breaks anywhere, Latin at spaces."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _TOKEN.findall(paragraph):
            if face.getlength(line + token) <= width or not line.strip():
                line += token
            else:
                lines.append(line.rstrip())
                line = token.lstrip()
        lines.append(line.rstrip())
    return [line for line in lines if line]


@dataclass(frozen=True)
class CardText:
    """What the card says: the heading line, camera direction, action, the line spoken now."""

    heading: str  # "scene · shot"
    camera: str
    action: str
    speech: str | None = None  # "Name：line", or None between lines
    cast: str = ""  # who speaks in the shot and at what pitch their voice is heard


@dataclass(frozen=True)
class Row:
    text: str
    ink: tuple[int, int, int, int]
    px: int

    @property
    def height(self) -> int:
        return int(self.px * 1.25)


def _rows(text: CardText, width: int, px: int) -> tuple[list[Row], list[Row]]:
    """The top panel's rows (heading, camera) and the bottom panel's (action, speech) at ``px``."""
    small = max(MIN_FONT_PX, px - 2)
    room = width - 2 * _pad(px)
    top = [Row(text.heading, INK, px)]
    for meta in (text.camera, text.cast):
        top += [Row(r, META_INK, small) for r in wrap(meta, font(small), room)]
    bottom = [Row(r, INK, px) for r in wrap(text.action, font(px), room)]
    bottom += [Row(r, SPEECH_INK, px) for r in wrap(text.speech or "", font(px), room)]
    return top, bottom


def _pad(px: int) -> int:
    return max(2, px // 3)


def _panel_height(rows: list[Row], px: int) -> int:
    return sum(r.height for r in rows) + 2 * _pad(px) if rows else 0


def overlay(text: CardText, width: int, height: int) -> Image.Image:
    """The RGBA text layer: a heading panel at the top, action and speech at the bottom.

    The font shrinks until everything fits; at the smallest size, action rows that still do
    not fit are dropped from the end, never the spoken line.
    """
    px = max(MIN_FONT_PX, round(min(width, height * 16 / 9) * 0.035))
    top, bottom = _rows(text, width, px)
    too_tall = lambda: _panel_height(top, px) + _panel_height(bottom, px) > height
    while too_tall() and px > MIN_FONT_PX:
        px -= 1
        top, bottom = _rows(text, width, px)
    while too_tall() and any(r.ink == INK for r in bottom):
        bottom.remove([r for r in bottom if r.ink == INK][-1])

    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    top_h, bottom_h = _panel_height(top, px), _panel_height(bottom, px)
    draw.rectangle((0, 0, width, top_h), fill=PANEL)
    if bottom:
        draw.rectangle((0, height - bottom_h, width, height), fill=PANEL)
    for rows, y in ((top, _pad(px)), (bottom, height - bottom_h + _pad(px))):
        for row in rows:
            draw.text((_pad(px), y), row.text, font=font(row.px), fill=row.ink)
            y += row.height
    return layer
