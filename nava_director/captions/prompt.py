"""The rewrite prompt, shared by every LLM rewriter, and reading the model's reply.

The system prompt is our own, kept in ``prompts/rewriter-vN.md``; its version enters the
caption cache key, so editing the prompt means a new file and new captions. The model is
shown the structured shot and the template caption as the draft to enrich.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files

from nava_director.captions.brief import ShotBrief
from nava_director.captions.guard import UnusableReply

PROMPT_VERSION = "rewriter-v2"  # v2: the same text, sampled with the reference's profile (captions.sampling)
THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)


@cache
def system_prompt() -> str:
    return files("nava_director.captions").joinpath(f"prompts/{PROMPT_VERSION}.md").read_text("utf-8")


def user_message(brief: ShotBrief, draft: str) -> str:
    shot = json.dumps(brief.as_dict(), ensure_ascii=False, indent=1)
    return f"结构化镜头信息：\n{shot}\n\n草稿描述：\n{draft}\n\n请输出改写后的中文镜头描述。"


def messages(brief: ShotBrief, draft: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system_prompt()},
        {"role": "user", "content": user_message(brief, draft)},
    ]


def strip_thinking(text: str) -> str:
    """The reply without its thinking: ``<think>…</think>`` blocks, or everything before a
    lone ``</think>`` (the chat template opened the block), or an unfinished thought."""
    text = THINK_BLOCK.sub("", text)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        text = text.split("<think>", 1)[0]
    return text.strip()


def reply_caption(content: str | None, finish_reason: str | None) -> str:
    """The caption in a chat reply's visible content (a server's reasoning field is never
    read); :class:`UnusableReply` when there is none."""
    if finish_reason == "length":
        raise UnusableReply("the reply was cut off at the token limit")
    caption = strip_thinking(content or "")
    if not caption:
        raise UnusableReply("the reply held no caption (empty, or only thinking)")
    return caption
