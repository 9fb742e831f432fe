"""The cut: clip files, and the film assembled from them (docs/architecture.md, "The cut")."""

from nava_director.cut.clipfile import read_clip, read_first_frame, read_last_frame, write_clip
from nava_director.cut.edit import CutShot
from nava_director.cut.film import CutSettings, FilmResult, cut_film

__all__ = [
    "CutSettings",
    "CutShot",
    "FilmResult",
    "cut_film",
    "read_clip",
    "read_first_frame",
    "read_last_frame",
    "write_clip",
]
