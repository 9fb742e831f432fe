"""Shot -> dense caption (docs/architecture.md, "Captions"): template writer, LLM rewriters (vLLM, transformers),
span guard, cache. The render and the CLI call :func:`write_captions`."""

from nava_director.captions.result import WRITERS, CaptionResult
from nava_director.captions.write import choose_writer, write_captions

__all__ = ["WRITERS", "CaptionResult", "choose_writer", "write_captions"]
