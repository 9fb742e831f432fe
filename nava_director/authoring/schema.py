"""The draft a model writes: the storyboard's models, bounded, as a JSON schema for vLLM.

The draft has the storyboard's shape (``nava_director/storyboard/model.py``) with what a model
must not or need not write left out — file paths (``image``, voices), seeds, the cut's
fine timing — and every string and list bounded, so that a constrained reply is always
finite and parses. The vocabularies (camera terms, transitions) and limits (1–10 s, two
speakers) are the storyboard's own. A shot may say what its writer was unsure of
(``uncertain``): it becomes a comment in the YAML for a person to look at.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from nava_director.storyboard.rules import MAX_SPEAKERS, MIN_SECONDS
from nava_director.storyboard.model import MAX_SECONDS, Camera, Transition

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,23}$")]  # ids name folders: plain


def Text(longest: int) -> type[str]:  # noqa: N802 (a bounded string type)
    return Annotated[str, StringConstraints(min_length=1, max_length=longest)]  # type: ignore[return-value]


class _Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftCharacter(_Draft):
    id: Id
    name: Text(24)
    look: Text(120)


class DraftLine(_Draft):
    who: Id
    line: Text(80)


class DraftShot(_Draft):
    id: Id
    duration: int = Field(ge=MIN_SECONDS, le=MAX_SECONDS)
    action: Text(240)
    camera: Optional[Camera] = None
    sound: Optional[Text(120)] = None
    dialogue: list[DraftLine] = Field(default_factory=list, max_length=2 * MAX_SPEAKERS)
    continue_from: Optional[Id] = None
    transition: Transition = "cut"
    uncertain: Optional[Text(120)] = None


class DraftScene(_Draft):
    id: Id
    setting: Text(200)
    shots: list[DraftShot] = Field(min_length=1)


class DraftStoryboard(_Draft):
    title: Text(40)
    characters: list[DraftCharacter] = Field(default_factory=list, max_length=8)
    scenes: list[DraftScene] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_entry_per_character(self) -> "DraftStoryboard":
        """The list becomes the storyboard's ``characters`` map: an id twice would lose one."""
        seen: dict[str, int] = {}
        for k, character in enumerate(self.characters):
            if character.id in seen:
                first = seen[character.id]
                raise ValueError(f"characters[{k}].id {character.id!r} is already used by characters[{first}]")
            seen[character.id] = k
        return self


def draft_schema(most_shots: int, cast: list[str] | None = None) -> dict:
    """The JSON schema of a draft of at most ``most_shots`` shots per scene (and scenes).

    With a ``cast`` (its character ids), the draft writes no characters and every ``who``
    is one of the cast.
    """
    schema = copy.deepcopy(DraftStoryboard.model_json_schema())
    schema["properties"]["scenes"]["maxItems"] = most_shots
    schema["$defs"]["DraftScene"]["properties"]["shots"]["maxItems"] = most_shots
    schema["required"] = ["title", "scenes"] + ([] if cast is not None else ["characters"])
    if cast is not None:
        del schema["properties"]["characters"]
        schema["$defs"].pop("DraftCharacter")
        schema["$defs"]["DraftLine"]["properties"]["who"] = {"enum": sorted(cast), "title": "Who"}
    return schema


def shots_for(shots: int | None, minutes: float | None) -> int:
    """How many shots to ask for: as given, else about one per 6 s of ``minutes``, else 6."""
    if shots is not None:
        return shots
    if minutes is not None:
        return max(1, math.ceil(minutes * 60 / 6))
    return 6
