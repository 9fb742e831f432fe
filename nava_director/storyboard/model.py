"""The storyboard: pydantic models of its format (docs/architecture.md, "The storyboard").

Loading with line numbers and the semantic rules live in ``storyboard/load.py`` and ``storyboard/rules.py``;
this module is only the shape of the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from nava_director.storyboard.spans import SPAN_RE, Span

# rendered sizes per aspect (width, height): NAVA's trained resolutions
ASPECT_SIZES: dict[str, tuple[int, int]] = {
    "landscape": (1280, 704),
    "portrait": (704, 1280),
    "square": (960, 960),
}
RENDER_FPS = 24  # NAVA's own rate; 25 / 30 are retimed in the cut
MAX_SECONDS = 10
STEPS = (1, 1000)  # sampling steps a render may take
SEED_MAX = 2**63 - 1  # the engine's generators take a signed 64-bit seed

ShotSize = Literal[
    "extreme-wide", "wide", "full", "medium-wide", "medium", "medium-close-up",
    "close-up", "extreme-close-up", "over-the-shoulder", "two-shot",
]
ShotAngle = Literal["eye-level", "high", "low", "birds-eye", "worms-eye", "dutch", "overhead"]
ShotMove = Literal[
    "static", "pan-left", "pan-right", "tilt-up", "tilt-down", "dolly-in", "dolly-out",
    "truck-left", "truck-right", "crane-up", "crane-down", "tracking", "handheld",
    "orbit-left", "orbit-right", "zoom-in", "zoom-out",
]
ShotSpeed = Literal["slow", "normal", "fast"]
Transition = Literal["cut", "dissolve", "fade-in", "fade-out"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# numbers must be written as numbers: a quoted "12" or `true` is an error, not a 12 or a 1
def Number(default: Any = ..., **limits: Any) -> Any:  # noqa: N802 (a field factory, read like a type)
    return Field(default, strict=True, **limits)


class Format(_Strict):
    aspect: Literal["landscape", "portrait", "square"] = "landscape"
    fps: Literal[24, 25, 30] = 24

    @property
    def size(self) -> tuple[int, int]:
        return ASPECT_SIZES[self.aspect]


class Defaults(_Strict):
    steps: int = Number(50, ge=STEPS[0], le=STEPS[1])
    seed: int = Number(0, ge=0, le=SEED_MAX)
    language: Literal["zh", "en"] = "zh"


class Camera(_Strict):
    size: Optional[ShotSize] = None
    angle: Optional[ShotAngle] = None
    move: Optional[ShotMove] = None
    speed: Optional[ShotSpeed] = None


def _camera_kind(value: Any) -> str:
    return "text" if isinstance(value, str) else "directions"


# free text, or structured directions; the discriminator makes a wrong value one error, not two
CameraSpec = Annotated[
    Union[Annotated[Camera, Tag("directions")], Annotated[str, Tag("text")]],
    Discriminator(_camera_kind),
]


class DialogueLine(_Strict):
    who: str
    line: str


class Character(_Strict):
    name: Optional[str] = None
    look: Optional[str] = None
    voice: Optional[Path] = None  # resolved against the file that names it by the loader


class Shot(_Strict):
    id: str
    duration: float = Number(gt=0)
    action: Optional[str] = None
    camera: Optional[CameraSpec] = None
    sound: Optional[str] = None
    dialogue: list[DialogueLine] = Field(default_factory=list)
    continue_from: Optional[str] = None
    image: Optional[Path] = None  # resolved against the storyboard by the loader
    seed: Optional[int] = Number(None, ge=0, le=SEED_MAX)
    # the cut (docs/architecture.md, "The cut"): the transition leading into this shot, J/L cuts
    transition: Transition = "cut"
    transition_s: float = Number(0.5, ge=0, le=MAX_SECONDS)
    audio_lead_s: float = Number(0.0, ge=0, le=MAX_SECONDS)
    audio_lag_s: float = Number(0.0, ge=0, le=MAX_SECONDS)

    def spans(self) -> list[Span]:
        """Speech spans in caption order: those written in `action`, then each dialogue line."""
        out: list[Span] = []
        for m in SPAN_RE.finditer(self.action or ""):
            text = m.group(1) if m.group(1) is not None else m.group(2)
            out.append(Span(text=text, speaker=None, source="action", index=len(out)))
        for d in self.dialogue:
            out.append(Span(text=d.line, speaker=d.who, source="dialogue", index=len(out)))
        return out

    def speakers(self) -> list[str]:
        """Distinct character ids that speak in this shot, in order of first line."""
        return list(dict.fromkeys(d.who for d in self.dialogue))


class Scene(_Strict):
    id: str
    setting: Optional[str] = None
    shots: list[Shot] = Field(min_length=1)


class Storyboard(_Strict):
    title: Optional[str] = None
    format: Format = Format()
    defaults: Defaults = Defaults()
    cast: Optional[Path] = None  # a casting file, resolved against the storyboard
    characters: dict[str, Character] = Field(default_factory=dict)  # inline, or filled from `cast`
    scenes: list[Scene] = Field(min_length=1)

    def shots(self) -> list[tuple[Scene, Shot]]:
        return [(scene, shot) for scene in self.scenes for shot in scene.shots]

    def shot(self, shot_id: str) -> Shot:
        for _, shot in self.shots():
            if shot.id == shot_id:
                return shot
        raise KeyError(shot_id)
