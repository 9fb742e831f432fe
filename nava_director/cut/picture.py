"""The film's picture, frame by frame: each shot's frames weighted by dissolves and fades."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from nava_director.cut.edit import Edit, Placement
from nava_director.errors import NavaError


class ClipFrames:
    """Decoded frames of a few clips at a time: the cut walks the timeline forward, so at
    most the clips on either side of a join are needed together."""

    def __init__(self, keep: int = 3):
        self._clips: OrderedDict[Path, np.ndarray] = OrderedDict()
        self._keep = keep

    def frame(self, path: Path, index: int) -> np.ndarray:
        if path not in self._clips:
            from nava_director.cut.clipfile import read_clip

            self._clips[path] = read_clip(path).frames
            while len(self._clips) > self._keep:
                self._clips.popitem(last=False)
        self._clips.move_to_end(path)
        frames = self._clips[path]
        if not 0 <= index < len(frames):
            raise NavaError(
                f"{path} has {len(frames)} frames, the cut needs frame {index}",
                hint="the take is damaged or was replaced; render that shot again",
            )
        return frames[index]


def weight(p: Placement, t: int) -> float:
    """How much of shot `p`'s picture film frame `t` holds, 0..1."""
    seen = p.picture
    if not seen.start <= t < seen.stop:
        return 0.0
    w = 1.0
    if p.join_in and len(p.join_in.picture) and t < p.join_in.picture.stop:
        w *= (t - p.join_in.picture.start + 1) / (len(p.join_in.picture) + 1)
    if p.join_out and len(p.join_out.picture) and t >= p.join_out.picture.start:
        w *= 1 - (t - p.join_out.picture.start + 1) / (len(p.join_out.picture) + 1)
    if t < seen.start + p.fade_in:
        w *= (t - seen.start) / p.fade_in
    if t >= seen.stop - p.fade_out:
        w *= (seen.stop - 1 - t) / p.fade_out
    return w


def film_frame(edit: Edit, t: int, clips: ClipFrames) -> np.ndarray:
    """Film frame `t` (render rate), uint8 [H,W,3]."""
    layers = [(p, weight(p, t)) for p in edit.placements if p.picture.start <= t < p.picture.stop]
    if len(layers) == 1 and layers[0][1] == 1.0:
        p, _ = layers[0]
        return clips.frame(p.shot.clip_path, p.source_frame(t))
    mixed = sum(w * clips.frame(p.shot.clip_path, p.source_frame(t)).astype(np.float32) for p, w in layers)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
