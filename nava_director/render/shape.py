"""What shapes every shot of a run besides the shot itself, resolved once, without side effects.

A :class:`Shape` holds the render size, steps, fps, guidance, negative prompt and the engine
(its id names its weights). Shot keys (``project/keys.py``) and engine requests are computed
from it; nothing changes it after :func:`shape_of` made it.

``render`` resolves it from the session (settings, storyboard, engine): once per run, and the
same on every rank of a ``--gpus`` run. ``takes`` / ``pick`` resolve it "as last rendered": a
size or steps not given now are the manifest's (what the last render used), so that listing
takes does not call every take stale after a ``--size`` run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nava_director.engines.base import Engine
from nava_director.engines.registry import render_size
from nava_director.project.keys import guidance_items
from nava_director.project.manifest import Manifest
from nava_director.session import Session
from nava_director.settings import Settings
from nava_director.storyboard.load import LoadedStoryboard
from nava_director.storyboard.model import RENDER_FPS


@dataclass(frozen=True)
class Shape:
    width: int
    height: int
    steps: int
    engine: str  # the engine's id, its weights' fingerprint in it
    fps: int = RENDER_FPS
    guidance: tuple[tuple[str, float], ...] = ()  # sorted (name, scale); empty: the engine's defaults
    negative_prompt: str | None = None  # None: the engine's own

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def resolve_shape(
    settings: Settings,
    loaded: LoadedStoryboard,
    engine: Engine,
    steps: int | None = None,
    last: Manifest | None = None,
) -> Shape:
    """The shape of a run: ``--size`` or the engine's size for the storyboard's format;
    ``--steps`` or the storyboard's. With ``last`` (a manifest), a size or steps not given
    are those of the last render, as ``takes`` assumes."""
    size = shot_size(settings, loaded, engine, last)
    steps = steps or (last.steps if last else None) or loaded.storyboard.defaults.steps
    return Shape(
        width=size[0],
        height=size[1],
        steps=steps,
        engine=engine.id,
        guidance=guidance_items(settings.guidance),
        negative_prompt=settings.negative_prompt,
    )


def shot_size(
    settings: Settings, loaded: LoadedStoryboard, engine: Engine, last: Manifest | None = None
) -> tuple[int, int]:
    """The size every shot renders at (``plan`` shows it): ``--size``, else (with ``last``) the
    last render's, else the engine's size for the storyboard's format (the animatic's is reduced)."""
    return settings.size or (last.size if last else None) or render_size(engine, loaded.storyboard.format.size)


def shape_of(session: Session, last: Manifest | None = None) -> Shape:
    """The shape of a render of ``session`` (with ``last``: as the last render was shaped)."""
    if last is not None and last.dit and session.settings.dit == "auto":
        session = replace(session, settings=replace(session.settings, dit=last.dit))
    return resolve_shape(session.settings, session.loaded, session.engine, session.args.steps, last)


def with_fixed_dit(session: Session, manifest: Manifest) -> Session:
    """The session with the nava engine's DiT file fixed, and recorded in ``manifest``: ``--dit``
    when given, else the one recorded at the project's first render, else ``auto`` resolved now
    (by the GPU's memory). The DiT file is in every shot's key, so a project keeps its file
    from machine to machine, and a run that renders nothing needs no torch to know it."""
    settings = session.settings
    if settings.dit == "auto" and manifest.dit:
        dit = manifest.dit
    else:
        choice = getattr(session.engine, "dit_choice", None)  # only the nava engine chooses
        if choice is None:
            return session
        dit = choice.format
    manifest.dit = dit
    return replace(session, settings=replace(settings, dit=dit))
