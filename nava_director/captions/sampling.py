"""How the caption writer samples: the reference's rewriter profile.

The reference uses one profile on all of its rewrite paths (its vLLM batch server, its
transformers single-prompt rewriter, its Gradio button, inference_nava.py's PromptRewriter):
temperature 0.3, top_p 0.75, top_k 20, repetition_penalty 1.05, up to 4096 new tokens
(room for a thinking model's reasoning and the caption).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingProfile:
    temperature: float = 0.3
    top_p: float = 0.75
    top_k: int = 20
    repetition_penalty: float = 1.05
    max_tokens: int = 4096

    def openai_extra(self) -> dict:
        """What vLLM's OpenAI-compatible server takes beyond the OpenAI parameters."""
        return {"top_k": self.top_k, "repetition_penalty": self.repetition_penalty}


REFERENCE = SamplingProfile()
