"""A still image a shot starts from (``image:``): checked cheaply at validate, read as 8-bit RGB.

Pillow's ``convert("RGB")`` clips 16- and 32-bit greyscale to white and drops alpha onto
whatever colour the transparent pixels hold; :func:`read_still` scales deep greyscale to
8 bits, composites transparency over black and applies the EXIF orientation. Images larger
than :data:`MAX_PIXELS` are refused before they are decoded (no decompression bomb).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

MAX_SIDE = 8192
MAX_PIXELS = MAX_SIDE * MAX_SIDE  # far above any render size; about 200 MB decoded
FIX = f"use a PNG or JPEG still of at most {MAX_SIDE}x{MAX_SIDE} pixels"


def _open(path: Path):
    """The image opened lazily (header read, pixels not), refused above MAX_PIXELS."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError(f"is larger than {MAX_SIDE}x{MAX_SIDE} pixels") from None
    if image.width * image.height > MAX_PIXELS or image.width < 1 or image.height < 1:
        image.close()
        raise ValueError(f"is {image.width}x{image.height} pixels")
    return image


def still_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a shot's first frame (its header and chunks checked), else None."""
    from PIL import UnidentifiedImageError

    try:
        with _open(path) as image:
            image.verify()
    except ValueError as e:
        return str(e)
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError) as e:
        return f"is not a readable image ({e})"
    return None


def still_size(path: Path) -> tuple[int, int]:
    """(width, height) of a still that :func:`still_problem` passed (its header only)."""
    with _open(path) as image:
        return image.size


def read_still(path: Path) -> np.ndarray:
    """The image as uint8 [H, W, 3]."""
    from PIL import Image, ImageOps

    with _open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
            grey = np.asarray(image, dtype=np.float64)
            top = 1.0 if image.mode == "F" and grey.max(initial=0) <= 1.0 else 65535.0
            grey = np.clip(np.rint(grey / top * 255), 0, 255).astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
            return np.asarray(Image.alpha_composite(black, rgba).convert("RGB"))
        return np.asarray(image.convert("RGB"))
