"""The speech-span parser: ~~words~~ (the storyboard's) and <S>words<E> (the model's)."""

from __future__ import annotations

import pytest

from nava_director.storyboard.model import Shot
from nava_director.storyboard.spans import find_spans, strip_spans, to_model_markup, to_storyboard_markup, unbalanced


@pytest.mark.parametrize(
    "text,spans",
    [
        ("她说~~你好~~", ["你好"]),
        ("她说<S>你好<E>", ["你好"]),
        ("~~一~~然后<S>二<E>再~~三~~", ["一", "二", "三"]),  # both markups in one text, in order
        ("他低声说~~“别走。”~~然后转身", ["“别走。”"]),  # Chinese quotes inside a span
        ("he says ~~\"I'm home,\" she said~~ quietly", ["\"I'm home,\" she said"]),  # English and quotes
        ("~~Hello, world!~~ ~~How are you?~~", ["Hello, world!", "How are you?"]),
        ("她笑着说~~太好了😊🎉~~", ["太好了😊🎉"]),  # emoji
        ("广播：~~3号站台，10点45分~~", ["3号站台，10点45分"]),  # digits
        ("<S>第1次<E>与<S>第2次<E>", ["第1次", "第2次"]),
        ("~~两行\n的话~~", ["两行\n的话"]),  # a span may cross a line break
        ("没有台词", []),
        ("波浪号~不是标记~", []),  # single tildes are text
    ],
)
def test_find_spans(text, spans):
    assert find_spans(text) == spans
    assert unbalanced(text) is None


@pytest.mark.parametrize(
    "text,problem",
    [
        ("她说~~你好", "unmatched '~~'"),
        ("~~一~~和~~二", "unmatched '~~'"),
        ("她说<S>你好", "unmatched '<S>'"),
        ("她说你好<E>", "unmatched '<E>'"),
        ("<S>一<E><S>二", "unmatched '<S>'"),
    ],
)
def test_unbalanced_markup(text, problem):
    assert unbalanced(text) == problem


def test_markups_convert_both_ways():
    text = "他说~~好久不见😊~~，她答<S>Hello 2 you<E>。"
    model = to_model_markup(text)
    assert model == "他说<S>好久不见😊<E>，她答<S>Hello 2 you<E>。"
    assert to_storyboard_markup(model) == "他说~~好久不见😊~~，她答~~Hello 2 you~~。"
    assert find_spans(model) == find_spans(text) == ["好久不见😊", "Hello 2 you"]


def test_strip_spans_keeps_the_surrounding_text():
    assert strip_spans("他说~~你好~~然后<S>再见<E>走了") == "他说然后走了"


def test_spans_in_action_text_come_before_dialogue_and_have_no_speaker():
    shot = Shot.model_validate({
        "id": "a", "duration": 5,
        "action": "电视里传来<S>新闻联播<E>，他又听见~~Good night~~",
        "dialogue": [{"who": "lin", "line": "关掉吧。"}],
    })
    assert [(s.text, s.speaker, s.source, s.index) for s in shot.spans()] == [
        ("新闻联播", None, "action", 0),
        ("Good night", None, "action", 1),
        ("关掉吧。", "lin", "dialogue", 2),
    ]
