"""What a caption writer hands back for one shot."""

from __future__ import annotations

from dataclasses import dataclass, field

WRITERS = ("template", "vllm", "transformers")


@dataclass(frozen=True)
class CaptionResult:
    caption: str  # in the model's markup: spans as <S>words<E>
    writer: str  # who wrote it: template | vllm | transformers
    requested: str  # the writer asked for (``auto`` resolved); differs from writer on a fallback
    fallback: bool  # the span guard rejected the rewriter's output: the template caption is used
    key: str  # the caption cache key: hash of (writer, model, prompt version, shot inputs)
    problems: tuple[str, ...] = field(default=())  # why each rejected attempt was rejected
    model: str | None = None  # the rewriter's model (None for the template writer)
