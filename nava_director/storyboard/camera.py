"""Camera directions -> caption phrases.

Every term of the storyboard's closed camera vocabulary has a natural phrase in Chinese
(the language NAVA's captions were written in) and in English. A free-text camera
direction is the escape hatch and passes through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nava_director.storyboard.model import Camera

Language = Literal["zh", "en"]


@dataclass(frozen=True)
class Phrase:
    zh: str
    en: str

    def __call__(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en


SIZES: dict[str, Phrase] = {
    "extreme-wide": Phrase("大远景镜头，展现广阔的环境", "an extreme wide shot showing the vast surroundings"),
    "wide": Phrase("远景镜头，交代人物与环境的关系", "a wide shot placing the characters in their surroundings"),
    "full": Phrase("全景镜头，人物全身完整入画", "a full shot framing the whole body"),
    "medium-wide": Phrase("中远景镜头，人物膝盖以上入画", "a medium wide shot framing from the knees up"),
    "medium": Phrase("中景镜头，人物腰部以上入画", "a medium shot framing from the waist up"),
    "medium-close-up": Phrase("中近景镜头，人物胸部以上入画", "a medium close-up framing from the chest up"),
    "close-up": Phrase("特写镜头，聚焦人物的面部表情", "a close-up on the face"),
    "extreme-close-up": Phrase("大特写镜头，聚焦局部细节", "an extreme close-up on a single detail"),
    "over-the-shoulder": Phrase("过肩镜头，越过一人的肩膀拍向另一人", "an over-the-shoulder shot"),
    "two-shot": Phrase("双人镜头，两个人物同在画面中", "a two-shot with both characters in frame"),
}

ANGLES: dict[str, Phrase] = {
    "eye-level": Phrase("平视角度拍摄", "at eye level"),
    "high": Phrase("高角度俯拍", "from a high angle looking down"),
    "low": Phrase("低角度仰拍", "from a low angle looking up"),
    "birds-eye": Phrase("鸟瞰视角从高空俯视", "from a bird's-eye view high above"),
    "worms-eye": Phrase("贴近地面的极低角度仰视", "from a worm's-eye view at ground level"),
    "dutch": Phrase("倾斜的荷兰角构图", "with a tilted dutch angle"),
    "overhead": Phrase("从正上方垂直向下拍摄", "from directly overhead"),
}

# "{speed}" takes the speed's adverb, or nothing when no speed is given
MOVES: dict[str, Phrase] = {
    "static": Phrase("机位固定，镜头保持不动", "the camera holds still"),
    "pan-left": Phrase("镜头{speed}向左摇", "the camera {speed} pans left"),
    "pan-right": Phrase("镜头{speed}向右摇", "the camera {speed} pans right"),
    "tilt-up": Phrase("镜头{speed}向上摇", "the camera {speed} tilts up"),
    "tilt-down": Phrase("镜头{speed}向下摇", "the camera {speed} tilts down"),
    "dolly-in": Phrase("镜头{speed}向前推进", "the camera {speed} dollies in"),
    "dolly-out": Phrase("镜头{speed}向后拉远", "the camera {speed} dollies out"),
    "truck-left": Phrase("镜头{speed}向左横移", "the camera {speed} trucks left"),
    "truck-right": Phrase("镜头{speed}向右横移", "the camera {speed} trucks right"),
    "crane-up": Phrase("镜头{speed}升起", "the camera {speed} cranes up"),
    "crane-down": Phrase("镜头{speed}降下", "the camera {speed} cranes down"),
    "tracking": Phrase("镜头{speed}跟随人物移动", "the camera {speed} tracks the subject"),
    "handheld": Phrase("手持拍摄，镜头{speed}跟随，画面带有轻微晃动",
                       "handheld, the camera {speed} follows with a slight shake"),
    "orbit-left": Phrase("镜头{speed}向左环绕主体", "the camera {speed} orbits left around the subject"),
    "orbit-right": Phrase("镜头{speed}向右环绕主体", "the camera {speed} orbits right around the subject"),
    "zoom-in": Phrase("镜头{speed}变焦推近", "the camera {speed} zooms in"),
    "zoom-out": Phrase("镜头{speed}变焦拉远", "the camera {speed} zooms out"),
}

SPEEDS: dict[str, Phrase] = {
    "slow": Phrase("缓缓", "slowly"),
    "normal": Phrase("平稳地", "steadily"),
    "fast": Phrase("快速", "quickly"),
}

# a speed given without a move
SPEED_ALONE = Phrase("镜头运动{speed}", "the camera moves {speed}")
SPEED_ALONE_WORDS: dict[str, Phrase] = {
    "slow": Phrase("缓慢", "slowly"),
    "normal": Phrase("平稳", "steadily"),
    "fast": Phrase("迅速", "quickly"),
}

SEPARATOR = {"zh": "，", "en": ", "}


def _move(camera: Camera, language: Language) -> str | None:
    if camera.move is None:
        if camera.speed is None:
            return None
        return SPEED_ALONE(language).format(speed=SPEED_ALONE_WORDS[camera.speed](language))
    speed = SPEEDS[camera.speed](language) if camera.speed else ""
    phrase = MOVES[camera.move](language).format(speed=speed)
    return " ".join(phrase.split())  # an English phrase without a speed keeps single spaces


def camera_phrase(camera: Camera | str | None, language: Language = "zh") -> str | None:
    """The caption's camera clause (no closing punctuation); None when nothing is directed.

    A free-text direction is returned as written (stripped); a structured one becomes
    size, angle and movement phrases joined in that order.
    """
    if camera is None:
        return None
    if isinstance(camera, str):
        return camera.strip() or None
    parts = [
        SIZES[camera.size](language) if camera.size else None,
        ANGLES[camera.angle](language) if camera.angle else None,
        _move(camera, language),
    ]
    present = [p for p in parts if p]
    return SEPARATOR[language].join(present) if present else None
