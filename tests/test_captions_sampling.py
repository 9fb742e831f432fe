"""The caption writers sample with the reference's rewriter profile."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from nava_director.captions.prompt import PROMPT_VERSION
from nava_director.captions.sampling import REFERENCE
from nava_director.captions.vllm import VllmRewriter
from nava_director.captions.write import REWRITE_VERSION


def test_the_profile_is_the_references():
    assert (REFERENCE.temperature, REFERENCE.top_p, REFERENCE.top_k, REFERENCE.repetition_penalty,
            REFERENCE.max_tokens) == (0.3, 0.75, 20, 1.05, 4096)  # fmt: skip
    assert PROMPT_VERSION == "rewriter-v2" and REWRITE_VERSION.startswith("rewriter-v2")  # cached captions renewed


def test_the_vllm_request_carries_the_profile():
    rewriter = VllmRewriter("http://127.0.0.1:1", "tiny")
    sent = {}

    async def create(**kwargs):
        sent.update(kwargs)
        message = SimpleNamespace(content="一位女子说道<S>你好<E>")
        return SimpleNamespace(choices=[SimpleNamespace(message=message, finish_reason="stop")])

    rewriter._client = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=create)))
    brief = SimpleNamespace(as_dict=lambda: {"id": "s1"})
    asyncio.run(rewriter.rewrite(brief, "草稿"))
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.3, 0.75, 4096)
    assert sent["extra_body"] == {"top_k": 20, "repetition_penalty": 1.05}
