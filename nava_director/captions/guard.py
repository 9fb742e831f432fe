"""The span guard (docs/architecture.md, "Captions"): speech reaches the engine exactly as the storyboard wrote it.

Whatever wrote a caption, its spans must equal the shot's spans — same text, same order —
and its markup must be balanced. A rewriter's output that is not is retried a bounded
number of times; then the template caption is used, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence

from nava_director.errors import NavaError
from nava_director.storyboard.spans import find_spans, to_model_markup, unbalanced

RETRIES = 2  # attempts after the first


class UnusableReply(Exception):
    """A rewriter's reply with no caption in it (empty, only thinking, cut off)."""


def span_problem(caption: str, spans: Sequence[str]) -> str | None:
    """Why ``caption`` may not go to the engine for a shot with ``spans``, or None."""
    if problem := unbalanced(caption):
        return f"{problem} in the caption"
    found = find_spans(caption)
    if found != list(spans):
        return f"the caption's spans {found} are not the shot's {list(spans)}"
    return None


@dataclass(frozen=True)
class Guarded:
    caption: str  # in the model's markup
    fallback: bool
    problems: tuple[str, ...]  # one per rejected attempt


def checked(caption: str, spans: Sequence[str], writer: str) -> str:
    """``caption`` in model markup; a NavaError if its speech was altered (never sent on)."""
    if problem := span_problem(caption, spans):
        raise NavaError(f"the {writer} caption altered the speech: {problem}",
                        hint="this is a bug in nava-director; please report it with the storyboard")
    return to_model_markup(caption)


async def guarded(
    attempt: Callable[[], Awaitable[str]],
    spans: Sequence[str],
    fallback: str,
    retries: int = RETRIES,
) -> Guarded:
    """Call ``attempt`` until its caption keeps ``spans`` (at most 1 + ``retries`` times),
    else fall back to the (template) ``fallback`` caption."""
    problems: list[str] = []
    for _ in range(1 + retries):
        try:
            caption = await attempt()
        except UnusableReply as reply:
            problems.append(str(reply))
            continue
        if problem := span_problem(caption, spans):
            problems.append(problem)
            continue
        return Guarded(to_model_markup(caption), False, tuple(problems))
    return Guarded(checked(fallback, spans, "template"), True, tuple(problems))
