"""Voice casting: character id -> name, look and a reference voice (a short WAV).

A casting file is ``characters: {id: {name, look, voice}}``; a storyboard names one with
``cast:`` or writes the same map inline as ``characters:``. Voices are resolved against
the file that names them and each is opened and checked here, so that a bad voice is
reported at its ``voice:`` line before anything renders.
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from pydantic import BaseModel, ConfigDict

from engine.pipeline import voice_problem as speaker_model_problem
from nava_director.storyboard.model import Character
from nava_director.storyboard.yamldoc import YamlDoc, missing_file

VOICE_SECONDS = (1.0, 30.0)  # what the speaker embedder is given: long enough to hear, ≤ 30 s
FIX_VOICE = "use a WAV of 1–30 s of clean speech, mono or stereo, sampled at 8 kHz or more"


class CastingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    characters: dict[str, Character]


def voice_problem(path: Path, shown: str) -> tuple[str, str] | None:
    """(what, fix) when the voice at ``path`` cannot be used, else None."""
    if not path.is_file():
        return f"voice file {shown} {missing_file(path)}", "record or copy the WAV there, or fix the path"
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        return f"voice file {shown} is not readable audio ({e})", FIX_VOICE
    seconds, channels = audio.shape[0] / rate, audio.shape[1]
    if channels not in (1, 2):
        return f"voice file {shown} has {channels} channels", FIX_VOICE
    low, high = VOICE_SECONDS
    if seconds < low:
        return f"voice file {shown} is {seconds:.2f} s, shorter than {low:.0f} s", FIX_VOICE
    if seconds > high:
        return f"voice file {shown} is {seconds:.1f} s, longer than {high:.0f} s", FIX_VOICE
    if problem := speaker_model_problem(audio.T, rate):  # the speaker model's own rule
        return f"voice file {shown} {problem}", FIX_VOICE
    return None


def resolve_characters(doc: YamlDoc, at: tuple[str, ...], characters: dict[str, Character],
                       base: Path) -> dict[str, Character]:
    """Characters with voices made absolute (relative to ``base``), each voice checked.

    Problems are added to ``doc`` at the ``voice:`` line of the character; ``at`` is the
    field path of the characters map inside ``doc``.
    """
    out = {}
    for cid, character in characters.items():
        if character.voice is not None:
            given = base / character.voice.expanduser()
            problem = voice_problem(given, str(given))
            if problem:
                doc.error((*at, cid, "voice"), *problem)
            character = character.model_copy(update={"voice": given.resolve()})
        out[cid] = character
    return out


def read_casting(path: Path) -> tuple[dict[str, Character], YamlDoc]:
    """A casting file's characters (voices resolved and checked) and its document (diagnostics)."""
    doc = YamlDoc.read(path)
    casting = doc.validate(CastingFile)
    if casting is None:
        return {}, doc
    return resolve_characters(doc, ("characters",), casting.characters, path.parent), doc
