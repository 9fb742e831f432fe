"""The template writer: a shot's dense Chinese caption, offline and deterministic.

The caption follows the order NAVA's training captions use — style and scene, subject,
background and light, an action timeline (beginning / then / at the end), camera, dialogue
(or the statement that nobody speaks), sound design, overall feel — filled from the
structured fields. Every span appears exactly once, in the model's markup ``<S>…<E>``,
in storyboard order: a span written in the action where the action puts it, then each
dialogue line attributed to its speaker.
"""

from __future__ import annotations

import re

from nava_director.captions.brief import ShotBrief
from nava_director.storyboard.camera import camera_phrase
from nava_director.storyboard.spans import SPAN_RE, to_model_markup

TEMPLATE_VERSION = "template-v1"  # bump when the wording changes: it enters the cache key

FRAMES = {"landscape": "横向宽画幅构图", "portrait": "竖向画幅构图", "square": "方形画幅构图"}
MUSIC_RE = re.compile(r"音乐|配乐|乐曲|乐声|歌|琴|鼓|笛|BGM|music|song|score|piano|guitar", re.I)
# where the action's text divides into beats: Chinese and English clause punctuation
BEAT_RE = re.compile(r"[，,。；;！!？?\n]+|\.(?:\s+|$)")
TRAILING = "，,。.；;！!？?、 \t\n"
PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")


def _clause(text: str | None) -> str:
    """Free text as a clause the caption can continue: trimmed, without closing punctuation."""
    return (text or "").strip().rstrip(TRAILING)


def clauses(text: str | None) -> list[str]:
    """Free text split at clause punctuation; a span is never split and comes out in model markup."""
    spans: list[str] = []

    def hold(m: re.Match) -> str:
        spans.append(m.group(0))
        return f"\x00{len(spans) - 1}\x00"

    def restore(beat: str) -> str:
        return PLACEHOLDER_RE.sub(lambda m: to_model_markup(spans[int(m.group(1))]), beat)

    held = SPAN_RE.sub(hold, text or "")
    return [restore(beat.strip()) for beat in BEAT_RE.split(held) if beat.strip()]


def style_and_scene(brief: ShotBrief) -> str:
    place = clauses(brief.setting)[:1]  # a setting's first clause names the place
    scene = f"，场景是{place[0]}" if place else ""
    return f"这是一段电影质感的写实风格视频，{FRAMES[brief.aspect]}，画面清晰细腻{scene}。"


def subject(brief: ShotBrief) -> str:
    if not brief.cast:
        return "画面的主体是下面动作中描述的人物与景物。"
    people = [f"{m.name}，{_clause(m.look)}" if _clause(m.look) else m.name for m in brief.cast]
    return f"画面的主体是{'；还有'.join(people)}。"


def background_and_light(brief: ShotBrief) -> str:
    place, *details = clauses(brief.setting) or [None]  # the rest: what surrounds it, the light
    if details:
        return f"背景中{'，'.join(details)}，光线自然，明暗层次分明，色调统一。"
    if place:
        return f"背景是{place}的环境，光线自然，明暗层次分明，色调统一。"
    return "背景简洁干净，光线自然柔和，明暗层次分明，色调统一。"


def timeline(brief: ShotBrief) -> str:
    opening = f"在这段{brief.duration:g}秒的镜头里，"
    beats = clauses(brief.action)
    if not beats:
        return f"{opening}人物保持当前的姿态，只有细微而自然的动作。"
    if len(beats) == 1:
        return f"{opening}开始时，{beats[0]}，动作自然连贯，一直持续到镜头结束。"
    middle = "".join(f"随后，{b}；" if i == 0 else f"接着，{b}；" for i, b in enumerate(beats[1:-1]))
    return f"{opening}开始时，{beats[0]}；{middle}最后，{beats[-1]}。"


def camera(brief: ShotBrief) -> str:
    phrase = _clause(camera_phrase(brief.camera, "zh"))
    return f"镜头方面，{phrase or '机位稳定，构图平衡自然'}。"


def dialogue(brief: ShotBrief) -> str:
    if not brief.dialogue:
        if brief.spans:  # the only speech is written inside the action
            return "除了动作中说出的话，画面中没有其他对白。"
        return "画面中无人说话，没有任何对白。"
    said: list[str] = []
    spoken: set[str] = set()
    for i, line in enumerate(brief.dialogue):
        lead = "对白如下：" if i == 0 else "接着"
        verb = "又说" if line.speaker in spoken else "说"
        said.append(f"{lead}{line.speaker}{verb}：<S>{line.text}<E>")
        spoken.add(line.speaker)
    return "".join(said) + "人物口型与台词同步，语气自然真切。"


def sound_design(brief: ShotBrief) -> str:
    voices = "，人声清晰可辨" if brief.spans else ""
    asked = _clause(brief.sound)
    music = "" if MUSIC_RE.search(asked) else "，没有背景音乐"
    if asked:
        return f"声音设计上，{asked}{voices}{music}。"
    return f"声音设计上，以真实自然的环境音为主{voices}{music}。"


def overall_feel(brief: ShotBrief) -> str:
    return "整体画面连贯流畅，情绪真实细腻，富有电影感。"


SECTIONS = (style_and_scene, subject, background_and_light, timeline, camera, dialogue,
            sound_design, overall_feel)


def write_template(brief: ShotBrief) -> str:
    """The shot's caption in the model's markup (spans as ``<S>…<E>``)."""
    return "".join(section(brief) for section in SECTIONS)
