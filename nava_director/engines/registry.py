"""Engines by name: ``animatic`` and ``nava``, each imported only when asked for.

An engine class is built as ``Engine(weights=PATH | None)``. Building it must be cheap and
import nothing heavy (torch loads on the first ``render``): the no-change run builds the
engine only to read its ``id`` for the shot keys. An engine may set ``preview_width``:
the width it renders at by default (the animatic's reduced size); without it, the
storyboard's full size.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from nava_director.engines.base import Engine
from nava_director.errors import InputError, NavaError

ENGINES: dict[str, str] = {
    "animatic": "nava_director.engines.animatic:AnimaticEngine",
    "nava": "nava_director.engines.nava:NavaEngine",
}


def create_engine(name: str, weights: Path | None = None, **options) -> Engine:
    """The engine registered as ``name``, built for ``weights`` (``options``: the engine's own
    keyword arguments, e.g. the nava engine's ``dit``, ``offload``, ``vae_tiling``)."""
    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}", hint=f"use one of: {', '.join(ENGINES)}")
    module, _, attr = ENGINES[name].partition(":")
    try:
        engine_class = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as error:
        raise NavaError(
            f"the {name} engine cannot be loaded ({error})",
            hint="reinstall with scripts/setup.sh, or use --engine animatic",
        ) from None
    return engine_class(weights=weights, **options)


def render_size(engine: Engine, full: tuple[int, int]) -> tuple[int, int]:
    """The size ``engine`` renders a storyboard of size ``full`` at: its preview width, same aspect.

    Both sides even (what H.264 in yuv420p needs).
    """
    width = getattr(engine, "preview_width", None)
    if width is None or width >= full[0]:
        return full
    height = round(full[1] * width / full[0] / 2) * 2
    return width, max(2, height)
