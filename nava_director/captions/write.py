"""Captions for a storyboard's shots: the one entry point the render and the CLI call.

:func:`write_captions` picks the writer (:func:`choose_writer`), writes every shot's
template caption, and for an LLM writer looks each shot up in the cache, then rewrites
only the missing ones — many at once, each through the span guard — and caches them.
A vLLM server is started only when some caption is missing and no server URL is given.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from nava_director.captions.brief import ShotBrief, shot_briefs
from nava_director.captions.cache import CaptionCache, caption_key
from nava_director.captions.guard import checked, guarded
from nava_director.captions.prompt import PROMPT_VERSION
from nava_director.captions.result import WRITERS, CaptionResult
from nava_director.captions.server import VllmServer
from nava_director.captions.template import TEMPLATE_VERSION, write_template
from nava_director.captions.vllm import DEFAULT_MODEL, VllmRewriter, served_model
from nava_director.errors import InputError, NavaError
from nava_director.settings import Settings
from nava_director.storyboard.load import LoadedStoryboard

# what an LLM caption depends on besides the shot: our prompt, and the template draft it enriches
REWRITE_VERSION = f"{PROMPT_VERSION}+{TEMPLATE_VERSION}"


class Rewriter(Protocol):
    writer: str

    async def rewrite(self, brief: ShotBrief, draft: str) -> str: ...

    async def aclose(self) -> None: ...


def choose_writer(requested: str, settings: Settings, recorded_writer: str | None = None) -> tuple[str, str]:
    """The writer that will write the captions, and why (``plan`` shows it).

    ``auto`` keeps a project's recorded writer (so starting a server does not silently
    re-render a film), else uses vLLM when a server URL or model is configured.
    """
    if requested != "auto":
        if requested not in WRITERS:
            raise InputError(f"unknown caption writer {requested!r}", hint=f"use auto or one of {', '.join(WRITERS)}")
        return requested, f"rewriter = {requested}"
    if recorded_writer is not None:
        return recorded_writer, f"the project's takes were made with {recorded_writer} captions"
    if settings.vllm_url:
        return "vllm", f"a vLLM server is configured ({settings.source('vllm_url')}: {settings.vllm_url})"
    if settings.vllm_model:
        return "vllm", f"a rewriter model is configured ({settings.source('vllm_model')}: {settings.vllm_model})"
    return "template", "no vLLM server or model configured (set NAVA_VLLM_URL or --vllm-url to rewrite with Qwen3)"


@dataclass(frozen=True)
class WriterPlan:
    """Who will write the captions and why; what changing the project's writer renders again."""

    writer: str
    reason: str
    recorded: str | None  # the writer the project's takes were made with
    renders_again: tuple[str, ...] = ()  # shots with takes (not locked) that a new writer re-renders

    def as_dict(self) -> dict:
        return {"writer": self.writer, "reason": self.reason, "recorded": self.recorded,
                "renders_again": list(self.renders_again)}


def plan_writer(requested: str, settings: Settings, recorded: str | None, unlocked_with_takes: list[str]) -> WriterPlan:
    """``plan``'s caption line: the chosen writer, and, when it is not the recorded one, the shots
    whose takes it makes stale (the writer is part of every shot's key)."""
    writer, reason = choose_writer(requested, settings, recorded)
    again = tuple(unlocked_with_takes) if recorded is not None and writer != recorded else ()
    return WriterPlan(writer, reason, recorded, again)


def rewriter_model(writer: str, settings: Settings, recorded_model: str | None = None) -> str:
    """The model id that enters the cache key: the configured one, else the one the project's
    captions were written with, else the one a running server serves (asked only then)."""
    if writer == "transformers":
        if not settings.vllm_model:
            raise InputError("the transformers rewriter needs a local model",
                             hint="give its folder with --vllm-model PATH")
        return settings.vllm_model
    if settings.vllm_model:
        return settings.vllm_model
    if recorded_model:
        return recorded_model
    return served_model(settings.vllm_url) if settings.vllm_url else DEFAULT_MODEL


@contextmanager
def open_rewriter(writer: str, model: str, settings: Settings) -> Iterator[Rewriter]:
    if writer == "transformers":
        from nava_director.captions.transformers_rewriter import TransformersRewriter

        yield TransformersRewriter(model)
    elif settings.vllm_url:
        yield VllmRewriter(settings.vllm_url, model)
    else:
        with VllmServer(model, settings.vllm_python) as url:
            yield VllmRewriter(url, model)


async def rewrite_all(rewriter: Rewriter, jobs: list[tuple[ShotBrief, str, str]], requested: str,
                      cache: CaptionCache | None = None, model: str | None = None) -> list[CaptionResult]:
    """Rewrite every (brief, draft, key) at once, each through the span guard; each caption is
    cached as soon as it is written, so an interrupted run keeps what it finished."""

    async def one(brief: ShotBrief, draft: str, key: str) -> CaptionResult:
        guarded_caption = await guarded(lambda: rewriter.rewrite(brief, draft), brief.spans, draft)
        writer = "template" if guarded_caption.fallback else rewriter.writer
        result = CaptionResult(guarded_caption.caption, writer, requested, guarded_caption.fallback, key,
                               guarded_caption.problems, model)
        if cache is not None:
            cache.put(result)
        return result

    try:
        return list(await asyncio.gather(*(one(*job) for job in jobs)))
    finally:
        await rewriter.aclose()


def write_captions(
    loaded: LoadedStoryboard,
    shot_ids: list[str] | None = None,
    *,
    rewriter: str | None = None,
    settings: Settings = Settings(),
    cache_dir: Path | None = None,
    recorded_writer: str | None = None,
    recorded_model: str | None = None,
    cached_only: bool = False,
) -> dict[str, CaptionResult]:
    """Each named shot's caption (all shots when ``shot_ids`` is None), in storyboard order.

    ``rewriter``: auto | template | vllm | transformers (None: ``settings.rewriter``).
    ``cache_dir``: the project's ``captions/`` folder (None: no cache).
    ``recorded_writer``, ``recorded_model``: what the project's manifest says its captions
    were written with; ``auto`` keeps the writer, and the model when none is configured (so a
    run whose captions are all cached asks no server anything).
    ``cached_only``: ask no LLM; the shots whose LLM caption is not cached are left out.
    """
    known = [shot.id for _, shot in loaded.storyboard.shots()]
    if unknown := [s for s in shot_ids or [] if s not in known]:
        raise InputError(f"no shot {', '.join(map(repr, unknown))} in {loaded.path}",
                         hint=f"shots: {', '.join(known)}")
    writer, _ = choose_writer(rewriter or settings.rewriter, settings, recorded_writer)
    briefs = shot_briefs(loaded.storyboard, shot_ids)
    drafts = {b.shot_id: checked(write_template(b), b.spans, "template") for b in briefs}
    if writer == "template":
        return {b.shot_id: CaptionResult(drafts[b.shot_id], "template", "template", False,
                                         caption_key("template", None, TEMPLATE_VERSION, b.as_dict()))
                for b in briefs}

    try:
        model = rewriter_model(writer, settings, recorded_model if writer == recorded_writer else None)
    except NavaError:
        if cached_only:  # the model is known only to a server that does not answer: nothing is known
            return {}
        raise
    cache = CaptionCache(cache_dir)
    keys = {b.shot_id: caption_key(writer, model, REWRITE_VERSION, b.as_dict()) for b in briefs}
    results = {b.shot_id: cache.get(keys[b.shot_id]) for b in briefs}
    missing = [(b, drafts[b.shot_id], keys[b.shot_id]) for b in briefs if results[b.shot_id] is None]
    if cached_only:
        return {b.shot_id: results[b.shot_id] for b in briefs if results[b.shot_id] is not None}
    if missing:
        with open_rewriter(writer, model, settings) as llm:
            rewritten = asyncio.run(rewrite_all(llm, missing, writer, cache, model))
        results.update((brief.shot_id, result) for (brief, _, _), result in zip(missing, rewritten))
    return {b.shot_id: results[b.shot_id] for b in briefs}
