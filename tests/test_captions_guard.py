"""The span guard: a caption reaches the engine only with the shot's exact spans, balanced;
a rewriter's bad output is retried, then replaced by the template caption, and recorded."""

from __future__ import annotations

import asyncio

import pytest

from nava_director.captions.guard import RETRIES, UnusableReply, guarded, span_problem
from nava_director.captions.prompt import reply_caption, strip_thinking
from nava_director.errors import NavaError

SPANS = ["好久不见。", "Hi, \"Lin\" 😊 3点"]
GOOD = "他说<S>好久不见。<E>她答<S>Hi, \"Lin\" 😊 3点<E>。"
TEMPLATE = "模板：<S>好久不见。<E>，<S>Hi, \"Lin\" 😊 3点<E>"


@pytest.mark.parametrize("caption,problem", [
    (GOOD, None),
    ("他说~~好久不见。~~她答~~Hi, \"Lin\" 😊 3点~~", None),  # the storyboard's markup is accepted
    ("他说<S>好久不见<E>她答<S>Hi, \"Lin\" 😊 3点<E>", "spans"),  # a full stop dropped
    ("<S>Hi, \"Lin\" 😊 3点<E><S>好久不见。<E>", "spans"),  # reordered
    ("他说<S>好久不见。<E>", "spans"),  # one missing
    (GOOD + "<S>再见<E>", "spans"),  # one added
    (GOOD + GOOD, "spans"),  # said twice
    ("他说<S>好久不见。<E>她答<S>Hi, \"Lin\" 😊 3点", "unmatched '<S>'"),
    (GOOD + "<E>", "unmatched '<E>'"),
    (GOOD + "~~", "unmatched '~~'"),
])
def test_span_problem(caption, problem):
    found = span_problem(caption, SPANS)
    assert found is None if problem is None else problem in found


class ScriptedRewriter:
    """Replies from a script, one per call, as an LLM would across retries."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.calls = 0

    async def __call__(self) -> str:
        reply = self.replies[min(self.calls, len(self.replies) - 1)]
        self.calls += 1
        if isinstance(reply, Exception):
            raise reply
        return reply


def guard(rewriter: ScriptedRewriter, fallback: str = TEMPLATE):
    return asyncio.run(guarded(rewriter, SPANS, fallback))


def test_a_good_caption_passes_first_time_in_model_markup():
    rewriter = ScriptedRewriter("他说~~好久不见。~~她答~~Hi, \"Lin\" 😊 3点~~")
    result = guard(rewriter)
    assert (result.caption, result.fallback, result.problems, rewriter.calls) == (GOOD.rstrip("。"), False, (), 1)


def test_a_bad_caption_is_retried_and_the_retry_kept():
    rewriter = ScriptedRewriter("他说<S>好久没见<E>", GOOD)
    result = guard(rewriter)
    assert result.caption == GOOD and not result.fallback
    assert rewriter.calls == 2 and len(result.problems) == 1 and "好久没见" in result.problems[0]


def test_bounded_retries_then_the_template_caption_and_why():
    rewriter = ScriptedRewriter("乱码<S>", UnusableReply("the reply was cut off at the token limit"), "<S>x<E>")
    result = guard(rewriter)
    assert rewriter.calls == 1 + RETRIES
    assert result.fallback and result.caption == TEMPLATE
    assert "unmatched '<S>'" in result.problems[0]
    assert result.problems[1] == "the reply was cut off at the token limit"


def test_a_fallback_with_altered_speech_is_never_sent_on():
    with pytest.raises(NavaError, match="altered the speech"):
        guard(ScriptedRewriter("坏"), fallback="模板：<S>好久不见<E>")


@pytest.mark.parametrize("reply,caption", [
    ("<think>先想想<S>不对<E></think>\n\n画面<S>你好<E>", "画面<S>你好<E>"),
    ("先想想，草稿是<S>你<E></think>画面<S>你好<E>", "画面<S>你好<E>"),  # the template opened <think>
    ("画面<S>你好<E><think>再想想", "画面<S>你好<E>"),  # an unfinished thought after the caption
    ("  画面<S>你好<E>  ", "画面<S>你好<E>"),
])
def test_thinking_is_stripped(reply, caption):
    assert strip_thinking(reply) == caption
    assert reply_caption(reply, "stop") == caption


@pytest.mark.parametrize("content,finish", [(None, "stop"), ("", "stop"), ("<think>只在思考", "stop"),
                                            ("想了很久</think>  ", "stop"), ("画面<S>你好<E>", "length")])
def test_a_reply_without_a_caption_is_unusable(content, finish):
    with pytest.raises(UnusableReply):
        reply_caption(content, finish)
