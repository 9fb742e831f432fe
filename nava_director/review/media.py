"""Which files of the project folder the page may load, and where they are.

Only the film's and the takes' media, by a path relative to the project folder: no
absolute path, no ``..`` (however it was encoded: the router hands over the decoded path),
no hidden file (``.lock``, ``.NAME.partial``), no symlink leading out of the folder.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".png": "image/png",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "text/plain; charset=utf-8",
}


def media_file(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``root`` (already resolved), or None when it may not be served."""
    if not relative or "\\" in relative or "\0" in relative:
        return None
    parts = PurePosixPath(relative).parts
    if relative.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    if PurePosixPath(relative).suffix.lower() not in MEDIA_TYPES:
        return None
    try:
        path = (root / relative).resolve(strict=True)  # follows symlinks: where the bytes really are
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def media_type(path: Path) -> str:
    return MEDIA_TYPES[path.suffix.lower()]
