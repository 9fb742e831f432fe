"""One way to open a project: what the user asked (:class:`ProjectArgs`) in, a
:class:`Session` out — settings resolved, the storyboard and its casting loaded, the plan
made, the project folder and the engine chosen.

Every command opens its project with :func:`open_project`; the CLI only parses and prints.
Opening writes nothing and imports no torch: the engine is built (cheaply) when first
asked for. What shapes the shots is resolved by the render from the session
(``render/shape.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from nava_director.captions import CaptionResult, write_captions
from nava_director.engines.base import Engine
from nava_director.engines.registry import create_engine
from nava_director.errors import InputError
from nava_director.project.folder import Project
from nava_director.project.manifest import Manifest
from nava_director.settings import KEYS, Settings, check_paths, choose_engine, load_settings
from nava_director.storyboard.load import LoadedStoryboard, load_storyboard
from nava_director.storyboard.model import STEPS, Character
from nava_director.storyboard.plan import RenderPlan, make_plan


@dataclass(frozen=True)
class ProjectArgs:
    """What the user asked about a project: the storyboard, and each flag given (None: not given)."""

    storyboard: Path
    engine: str | None = None
    weights: Path | None = None
    out: Path | None = None
    size: str | tuple[int, int] | None = None
    rewriter: str | None = None
    vllm_url: str | None = None
    vllm_model: str | None = None
    loudness: float | None = None
    crf: int | None = None
    burn_subtitles: bool | None = None
    checks: bool | None = None  # --no-check: False
    retake: int | None = None
    asr_model: Path | None = None
    steps: int | None = None  # sampling steps (None: the storyboard's); not a setting
    dit: str | None = None
    offload: str | None = None
    vae_tiling: bool | None = None

    def flags(self) -> dict[str, Any]:
        """The settings given as flags (the highest source of :func:`load_settings`)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in KEYS}


@dataclass(frozen=True)
class Session:
    """An open project: the storyboard's plan, its settings, its folder, its engine."""

    args: ProjectArgs
    settings: Settings
    plan: RenderPlan
    project: Project
    given_engine: Engine | None = None  # an engine built by the caller (tests); None: the settings'

    @classmethod
    def open(cls, args: ProjectArgs, settings: Settings, engine: Engine | None = None) -> Session:
        """The project of ``args.storyboard`` with ``settings`` already resolved (a --gpus rank)."""
        plan = make_plan(load_storyboard(args.storyboard))
        return cls(args, settings, plan, Project(settings.project_dir(args.storyboard)), engine)

    @property
    def storyboard(self) -> Path:
        return self.args.storyboard

    @property
    def loaded(self) -> LoadedStoryboard:
        return self.plan.storyboard

    @property
    def characters(self) -> dict[str, Character]:
        return self.loaded.characters

    @cached_property
    def engine(self) -> Engine:
        if self.given_engine is not None:
            return self.given_engine
        name, _ = choose_engine(self.settings)
        settings = self.settings
        options = dict(dit=settings.dit, offload=settings.offload, vae_tiling=settings.vae_tiling) if name == "nava" else {}
        return create_engine(name, settings.weights, **options)

    def captions(self, manifest: Manifest, cached_only: bool = False) -> dict[str, CaptionResult]:
        """Every shot's caption (``cached_only``: ask no LLM; the shots not cached are left out).
        Captions are cached in the project folder, which is claimed for it (project/folder.py):
        a folder that is not a project gets no cache rather than a ``captions/`` of ours."""
        cache_dir: Path | None = self.project.root / "captions"
        if not cached_only:
            try:
                self.project.claim()
            except InputError:
                cache_dir = None  # said by `render`, which writes there; `captions` only prints
        return write_captions(
            self.loaded,
            settings=self.settings,
            cache_dir=cache_dir,
            recorded_writer=manifest.writer,
            recorded_model=manifest.caption_model,
            cached_only=cached_only,
        )

    def known(self, shot_id: str) -> str:
        """``shot_id``, or the input error that the storyboard has no such shot."""
        if shot_id not in {job.shot for job in self.plan.jobs}:
            raise InputError(f"no shot {shot_id!r} in {self.storyboard}", hint="see `nava-director plan`")
        return shot_id


def open_project(
    args: ProjectArgs,
    *,
    engine: Engine | None = None,
    env: Mapping[str, str] | None = None,
    user_config: Path | None = None,
) -> Session:
    """Resolve the settings (flags, environment, nava.toml, user config), load the storyboard
    and its casting, make the plan, and open the project folder (nothing is written)."""
    low, high = STEPS
    if args.steps is not None and not low <= args.steps <= high:
        raise InputError(f"--steps {args.steps} is out of range", hint=f"use {low} to {high}")
    settings = load_settings(args.storyboard, args.flags(), env=env, user_config=user_config)
    check_paths(settings)
    return Session.open(args, settings, engine)
