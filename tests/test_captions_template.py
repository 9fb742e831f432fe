"""The template writer: NAVA's caption order, cast and looks, camera terms, dialogue
attribution, every span exactly once in storyboard order, and enough density for NAVA."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from conftest import ROOT

from nava_director.captions.brief import shot_brief, shot_briefs
from nava_director.captions.template import clauses, write_template
from nava_director.storyboard.camera import camera_phrase
from nava_director.storyboard.load import load_storyboard
from nava_director.storyboard.model import Camera, ShotAngle, ShotMove, ShotSize, ShotSpeed, Storyboard
from nava_director.storyboard.spans import find_spans, strip_spans, unbalanced

CJK = re.compile(r"[\u4e00-\u9fff]")
CHARACTERS = {
    "lin": {"name": "林然", "look": "二十多岁的女子，短发，米色风衣"},
    "chen": {"name": "陈默", "look": "三十岁左右的男子，深色外套"},
}
# section markers, in the order NAVA's captions put them
ORDER = ["电影质感", "画面的主体", "背景", "开始时", "镜头方面", "对白", "声音设计", "整体画面"]


def caption(shot: dict, *, setting: str | None = "黄昏的海边，海浪拍岸，暖色逆光", language: str = "zh",
            characters: dict = CHARACTERS) -> str:
    storyboard = Storyboard.model_validate({
        "defaults": {"language": language},
        "characters": characters,
        "scenes": [{"id": "s", "setting": setting, "shots": [{"id": "x", "duration": 5, **shot}]}],
    })
    scene, = storyboard.scenes
    return write_template(shot_brief(storyboard, scene, scene.shots[0]))


def cjk_outside_spans(text: str) -> int:
    return len(CJK.findall(strip_spans(text)))


def test_sections_come_in_nava_order():
    text = caption({"action": "林然站在海边", "camera": {"size": "wide"}, "sound": "海浪声",
                    "dialogue": [{"who": "lin", "line": "你来了。"}]})
    positions = [text.index(marker) for marker in ORDER]
    assert positions == sorted(positions)


def test_subject_names_the_cast_with_their_looks_in_order_of_appearance():
    text = caption({"action": "陈默从背后走近，林然转身", "dialogue": [{"who": "lin", "line": "是你。"}]})
    assert "画面的主体是陈默，三十岁左右的男子，深色外套；还有林然，二十多岁的女子，短发，米色风衣。" in text


def test_setting_gives_the_scene_then_the_background_and_light():
    text = caption({"action": "她望向远方"})
    assert "场景是黄昏的海边。" in text
    assert "背景中海浪拍岸，暖色逆光" in text


def test_action_timeline_beginning_then_at_the_end():
    text = caption({"action": "林然站在海边，望向远方。风吹起她的头发；她转身离开"})
    assert "开始时，林然站在海边；随后，望向远方；接着，风吹起她的头发；最后，她转身离开。" in text


def test_a_single_beat_lasts_the_whole_shot_and_no_action_still_reads():
    assert "开始时，两人并肩走远，动作自然连贯，一直持续到镜头结束。" in caption({"action": "两人并肩走远"})
    assert "人物保持当前的姿态" in caption({})


@pytest.mark.parametrize("field,terms", [("size", ShotSize), ("angle", ShotAngle), ("move", ShotMove)])
def test_every_camera_term_reaches_the_caption(field, terms):
    for term in get_args(terms):
        camera = Camera(**{field: term})
        assert f"镜头方面，{camera_phrase(camera)}。" in caption({"camera": {field: term}})


@pytest.mark.parametrize("speed", get_args(ShotSpeed))
def test_camera_speed_reaches_the_caption(speed):
    direction = {"size": "full", "move": "tracking", "speed": speed}
    assert camera_phrase(Camera(**direction)) in caption({"camera": direction})


def test_free_text_camera_passes_through():
    assert "镜头方面，镜头跟随陈默缓慢推进，停在两人之间。" in caption({"camera": "镜头跟随陈默缓慢推进，停在两人之间"})


def test_dialogue_is_attributed_to_each_speaker_by_name_in_order():
    text = caption({"action": "两人对视", "dialogue": [
        {"who": "chen", "line": "好久不见。"}, {"who": "lin", "line": "你终于来了。"},
        {"who": "chen", "line": "我回来了。"}]})
    assert "对白如下：陈默说：<S>好久不见。<E>接着林然说：<S>你终于来了。<E>接着陈默又说：<S>我回来了。<E>" in text
    assert "无人说话" not in text


def test_a_speaker_without_a_name_is_called_by_id():
    text = caption({"dialogue": [{"who": "guard", "line": "站住！"}]}, characters={"guard": {}})
    assert "guard说：<S>站住！<E>" in text


def test_a_silent_shot_says_nobody_speaks():
    text = caption({"action": "林然独自站在海边", "sound": "海浪声"})
    assert "画面中无人说话" in text
    assert find_spans(text) == []


def test_a_span_in_the_action_stays_where_the_action_puts_it_and_is_not_silence():
    text = caption({"action": "陈默低头笑了笑，轻声说~~我答应过你的~~，然后离开"})
    assert "随后，轻声说<S>我答应过你的<E>；最后，然后离开" in text
    assert "无人说话" not in text and "除了动作中说出的话" in text
    assert text.index("<S>我答应过你的<E>") < text.index("镜头方面")


SPAN_CASES = {
    "quotes": ("他低声说~~“别走。”她说“好”~~", [{"who": "lin", "line": "他说\"I'm home,\" 然后笑了"}]),
    "english": ("He whispers ~~Hello, world! How are you?~~ then waits.",
                [{"who": "chen", "line": "I'm fine, thanks. And you?"}]),
    "digits": ("广播响起~~3号站台，10点45分~~", [{"who": "lin", "line": "第1次，第2次，还有第3.5次。"}]),
    "emoji": ("她笑着说~~太好了😊🎉~~", [{"who": "chen", "line": "👍 好的！"}]),
    "speakerless": ("门外有人喊<S>开门<E>，接着又喊~~快开门~~", []),
    "model markup": ("他说<S>一<E>，她说~~二~~", [{"who": "lin", "line": "三"}]),
}


@pytest.mark.parametrize("case", SPAN_CASES)
def test_every_span_appears_exactly_once_verbatim_in_storyboard_order(case):
    action, dialogue = SPAN_CASES[case]
    shot = {"action": action, "dialogue": dialogue}
    text = caption(shot)
    storyboard = Storyboard.model_validate({"characters": CHARACTERS | {"guard": {}}, "scenes": [
        {"id": "s", "shots": [{"id": "x", "duration": 5, **shot}]}]})
    expected = [span.text for span in storyboard.shot("x").spans()]
    assert find_spans(text) == expected  # action's spans where the action puts them, then dialogue
    assert unbalanced(text) is None and "~~" not in text
    for words in expected:
        assert text.count(f"<S>{words}<E>") == 1


def test_music_only_when_the_sound_asks_for_it():
    assert "没有背景音乐" in caption({"sound": "海浪声和风声"})
    assert "没有背景音乐" in caption({})
    asked = caption({"sound": "轻柔的钢琴声，渐渐盖过海浪"})
    assert "轻柔的钢琴声，渐渐盖过海浪" in asked and "没有背景音乐" not in asked
    assert "没有背景音乐" not in caption({"sound": "soft piano music"})


def test_dense_enough_for_nava_even_from_sparse_english_fields():
    text = caption({"action": "She waves.", "dialogue": [{"who": "lin", "line": "Hi!"}]},
                   setting="A beach", language="en", characters={"lin": {"name": "Lin"}})
    assert cjk_outside_spans(text) >= 80
    assert "She waves" in text and "Lin说：<S>Hi!<E>" in text


def test_english_clauses_split_at_sentence_ends_not_inside_numbers_or_spans():
    assert clauses("He waves. She smiles at 3.5 m, then says ~~Hi, there.~~ and leaves.") == [
        "He waves", "She smiles at 3.5 m", "then says <S>Hi, there.<E> and leaves"]


def test_deterministic():
    shot = {"action": "林然转身", "dialogue": [{"who": "lin", "line": "你好"}], "camera": {"move": "orbit-left"}}
    assert caption(shot) == caption(shot)


def test_demo_storyboard_captions_are_dense_with_every_span_intact():
    storyboard = load_storyboard(ROOT / "storyboards" / "demo.yaml").storyboard
    for brief in shot_briefs(storyboard):
        text = write_template(brief)
        assert find_spans(text) == list(brief.spans)
        if brief.dialogue:
            assert cjk_outside_spans(text) >= 80, brief.shot_id
