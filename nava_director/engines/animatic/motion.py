"""Simulated camera moves: the viewport over a still plate, frame by frame.

A direction (the structured move, or free text in Chinese or English) becomes a
:class:`Move`: how the viewport zooms, shifts and rolls from the first frame to the last.
The plate is mirror-padded so shifts never reveal an edge.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

SPEEDS = {"slow": 0.5, "normal": 1.0, "fast": 1.8}


@dataclass(frozen=True)
class Move:
    """End-of-shot viewport change: zoom factor − 1, shift (fractions of the frame), roll (deg)."""

    zoom: float = 0.0  # > 0 pushes in over the shot, < 0 starts pushed in and pulls out
    dx: float = 0.0  # + the viewport travels right (the picture slides left)
    dy: float = 0.0  # + the viewport travels down
    roll: float = 0.0
    shake: float = 0.0  # handheld jitter, fraction of the frame

    def scaled(self, speed: float) -> Move:
        return Move(self.zoom * speed, self.dx * speed, self.dy * speed, self.roll * speed, self.shake)


MOVES: dict[str, Move] = {
    "static": Move(),
    "dolly-in": Move(zoom=0.3),
    "zoom-in": Move(zoom=0.4),
    "dolly-out": Move(zoom=-0.3),
    "zoom-out": Move(zoom=-0.4),
    "pan-left": Move(dx=-0.22),
    "pan-right": Move(dx=0.22),
    "tilt-up": Move(dy=-0.18),
    "tilt-down": Move(dy=0.18),
    "truck-left": Move(dx=-0.28, zoom=0.03),
    "truck-right": Move(dx=0.28, zoom=0.03),
    "crane-up": Move(dy=-0.2, zoom=0.08),
    "crane-down": Move(dy=0.2, zoom=0.08),
    "tracking": Move(dx=0.15, shake=0.004),
    "handheld": Move(shake=0.012),
    "orbit-left": Move(dx=-0.18, roll=3.0, zoom=0.1),
    "orbit-right": Move(dx=0.18, roll=-3.0, zoom=0.1),
}

# free-text cues, checked in order (the first that matches wins)
CUES: list[tuple[str, str]] = [
    (r"dolly[- ]?in|push[- ]?in|推进|推近|推向|靠近", "dolly-in"),
    (r"dolly[- ]?out|pull[- ]?(back|out)|拉远|后拉|拉开", "dolly-out"),
    (r"zoom[- ]?in|放大|变焦推", "zoom-in"),
    (r"zoom[- ]?out|缩小|变焦拉", "zoom-out"),
    (r"orbit[- ]?right|顺时针环绕", "orbit-right"),
    (r"orbit|环绕|绕着", "orbit-left"),
    (r"crane[- ]?down|降镜|下降", "crane-down"),
    (r"crane|升镜|升起|上升", "crane-up"),
    (r"truck[- ]?left|左移", "truck-left"),
    (r"truck|右移|横移", "truck-right"),
    (r"pan[- ]?left|左摇|向左摇", "pan-left"),
    (r"pan|右摇|向右摇|摇镜", "pan-right"),
    (r"tilt[- ]?down|下摇|俯摇", "tilt-down"),
    (r"tilt|上摇|仰摇", "tilt-up"),
    (r"handheld|hand-held|手持|晃动", "handheld"),
    (r"track|follow|跟随|跟拍|跟着", "tracking"),
]


def parse_move(direction: str) -> Move:
    """The move a camera direction asks for, at its speed (slow / normal / fast, 慢 / 快)."""
    text = direction.lower()
    name = next((name for cue, name in CUES if re.search(cue, text)), "static")
    for word in re.findall(r"[a-z-]+", text):  # a vocabulary term, exactly, wins over a cue
        if word in MOVES:
            name = word
            break
    return MOVES[name].scaled(_speed(text))


def _speed(text: str) -> float:
    for word, speed in SPEEDS.items():
        if re.search(rf"\b{word}\b", text):
            return speed
    if re.search("缓慢|慢慢|缓缓|slowly", text):
        return SPEEDS["slow"]
    if re.search("快速|迅速|急", text):
        return SPEEDS["fast"]
    return SPEEDS["normal"]


def _ease(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def _shake(frames: int, fps: int, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth jitter [frames, 3] (dx, dy, roll): a few slow sinusoids with seeded phases."""
    t = np.arange(frames)[:, None]
    out = np.zeros((frames, 3))
    for hz in (0.7, 1.3, 2.9):
        phase, direction = rng.uniform(0, 2 * math.pi, 3), rng.uniform(-1, 1, 3)
        out += direction * np.sin(2 * math.pi * hz * t / fps + phase) / hz
    return out * amount * np.array([1.0, 1.0, 40.0])


@dataclass(frozen=True)
class Viewport:
    zoom: float  # >= 1
    dx: float  # fractions of the frame
    dy: float
    roll: float  # degrees


def viewports(move: Move, frames: int, fps: int, rng: np.random.Generator) -> list[Viewport]:
    """The viewport of each frame, starting from the plate as it is (unless pulling out)."""
    u = _ease(np.linspace(0.0, 1.0, frames))
    zoom = 1 + (move.zoom * u if move.zoom >= 0 else -move.zoom * (1 - u))
    jitter = _shake(frames, fps, move.shake, rng) if move.shake else np.zeros((frames, 3))
    return [
        Viewport(float(z), float(move.dx * v + j[0]), float(move.dy * v + j[1]), float(move.roll * v + j[2]))
        for z, v, j in zip(zoom, u, jitter)
    ]


class Camera:
    """Films a still plate through a sequence of viewports."""

    def __init__(self, still: Image.Image):
        self.width, self.height = still.size
        pixels = np.asarray(still.convert("RGB"))
        pad = ((self.height // 2, self.height // 2), (self.width // 2, self.width // 2), (0, 0))
        self.padded = Image.fromarray(np.pad(pixels, pad, mode="symmetric"))

    def shoot(self, view: Viewport) -> Image.Image:
        """Output pixel p maps to plate centre + shift + R(roll)·(p − frame centre) / zoom."""
        cos, sin = math.cos(math.radians(view.roll)), math.sin(math.radians(view.roll))
        a, b, d, e = cos / view.zoom, -sin / view.zoom, sin / view.zoom, cos / view.zoom
        ox, oy = self.width / 2, self.height / 2
        cx, cy = self.width + view.dx * self.width, self.height + view.dy * self.height
        data = (a, b, cx - a * ox - b * oy, d, e, cy - d * ox - e * oy)
        return self.padded.transform(
            (self.width, self.height), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR
        )
