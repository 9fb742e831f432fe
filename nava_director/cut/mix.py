"""The film's sound, rebuilt from the clips' PCM.

Each shot's sound is laid where the edit puts it and shaped by an envelope: equal-power
crossfades under dissolves, ramps for fades, and a few milliseconds of fade at every hard
join so that no cut clicks. The shots are then summed; loudness comes after (loudness.py).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from nava_director.cut.edit import Edit, Placement

JOIN_FADE_S = 0.005  # a hard join's fade out / fade in: short enough to hear as a cut


def ramp(n: int) -> np.ndarray:
    """An equal-power rise over `n` samples (its mirror, the fall, sums to constant power)."""
    return np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n).astype(np.float32)


def envelope(n: int, head: int, tail: int) -> np.ndarray:
    """Unity gain over `n` samples, rising over the first `head` and falling over the last `tail`."""
    env = np.ones(n, np.float32)
    head, tail = min(head, n), min(tail, n)
    env[:head] *= ramp(head)
    env[n - tail :] *= ramp(tail)[::-1]
    return env


class Timebase:
    """Film frames to sample positions."""

    def __init__(self, fps: int, rate: int):
        self.per_frame = Fraction(rate, fps)
        self.rate = rate

    def __call__(self, frames: int) -> int:
        return round(frames * self.per_frame)


def shot_sound(p: Placement, pcm: np.ndarray, at: Timebase) -> tuple[int, np.ndarray]:
    """Where shot `p`'s sound starts in the film (samples) and the shaped sound itself."""
    heard = p.sound
    begin, end = at(p.source_frame(heard.start)), at(p.source_frame(heard.stop))
    sound = pcm[:, begin:end]
    short = round(JOIN_FADE_S * at.rate)
    head = max(short, at(len(p.join_in.sound)) if p.join_in else 0, at(p.fade_in))
    tail = max(short, at(len(p.join_out.sound)) if p.join_out else 0, at(p.fade_out))
    return at(heard.start), sound * envelope(sound.shape[1], head, tail)


def mix(edit: Edit, pcm: dict, rate: int) -> np.ndarray:
    """The film's sound, float32 [2, N], N lasting exactly the film's frames.

    `pcm` maps each clip path to its sound at `rate`, float32 [2, n]."""
    at = Timebase(edit.fps, rate)
    out = np.zeros((2, at(edit.frames)), np.float32)
    for p in edit.placements:
        start, sound = shot_sound(p, pcm[p.shot.clip_path], at)
        n = min(sound.shape[1], out.shape[1] - start)
        out[:, start : start + n] += sound[:, :n]
    return out
