"""Speech spans: the words a character speaks, kept verbatim from storyboard to model.

The storyboard writes a span as ``~~words~~``; the NAVA checkpoint's own markup is
``<S>words<E>``. Both are accepted on input; :func:`to_model_markup` writes the model's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SPAN_RE = re.compile(r"~~(.*?)~~|<S>(.*?)<E>", re.DOTALL)


@dataclass(frozen=True)
class Span:
    """One spoken line: its exact text, who speaks it (None: no voice bound), where it came from."""

    text: str
    speaker: str | None
    source: str  # "dialogue" or the free-text field it was written in, e.g. "action"
    index: int  # position among the shot's spans, in caption order


def _words(match: re.Match) -> str:
    """The words of one matched span, whichever markup wrote it."""
    return match.group(1) if match.group(1) is not None else match.group(2)


def find_spans(text: str) -> list[str]:
    """The span texts written in ``text`` (either markup), in order."""
    return [_words(m) for m in SPAN_RE.finditer(text)]


def unbalanced(text: str) -> str | None:
    """A description of unbalanced span markup left after removing whole spans, or None."""
    rest = SPAN_RE.sub("", text)
    for mark in ("~~", "<S>", "<E>"):
        if mark in rest:
            return f"unmatched {mark!r}"
    return None


def to_model_markup(text: str) -> str:
    """``~~words~~`` -> ``<S>words<E>``; text already in model markup is unchanged."""
    return SPAN_RE.sub(lambda m: f"<S>{_words(m)}<E>", text)


def to_storyboard_markup(text: str) -> str:
    """``<S>words<E>`` -> ``~~words~~``."""
    return SPAN_RE.sub(lambda m: f"~~{_words(m)}~~", text)


def strip_spans(text: str) -> str:
    """The text with every span removed (for counting what surrounds the speech)."""
    return SPAN_RE.sub("", text)
