"""The animatic engine: a timed storyboard card per shot with a camera move and scratch audio.

What it is, plainly: not a picture generator. It renders, at the shot's exact length, the
card of the shot (scene, shot id, action, camera direction, the line being spoken now) over
a plate (a drawn background, or the continued / given first frame) that the simulated camera
moves over, with each line spoken by espeak-ng in its character's voice and a soft bed
of room sound. It needs no GPU and no weights, imports no torch, and is deterministic for a
seed. Editing the action, the camera or a line changes the clip, so the director's loop
(edit, render, only what changed re-renders) can be tried and timed with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from nava_director.clip import Clip
from nava_director.engines.animatic.card import CardText, overlay, plate
from nava_director.engines.animatic.motion import Camera, parse_move, viewports
from nava_director.engines.animatic.scratch_audio import SAMPLE_RATE, VoicedLine, scratch_audio, voice_pitch
from nava_director.engines.animatic.speech_timing import time_lines
from nava_director.engines.base import ShotRequest, SpeechLine
from nava_director.errors import InputError
from nava_director.progress import Progress
from nava_director.storyboard.spans import SPAN_RE

PREVIEW_WIDTH = 320  # default render width: the storyboard's aspect, reduced


def _spoken(line: SpeechLine) -> str:
    who = line.name or line.speaker
    return f"{who}：{line.text}" if who else f"“{line.text}”"


def _cast(request: ShotRequest, pitches: list[float]) -> str:
    """Each speaker once, at the pitch their lines are voiced: "林然 ♪220 Hz · 陈默 ♪131 Hz"."""
    voiced = {line.name or line.speaker: pitch for line, pitch in zip(request.speech, pitches) if line.speaker}
    return " · ".join(f"{who} ♪{pitch:.0f} Hz" for who, pitch in voiced.items())


def _card_text(request: ShotRequest, speaking: SpeechLine | None, cast: str) -> CardText:
    card = request.card
    heading = " · ".join(part for part in (card.get("scene"), card.get("shot") or request.shot_id) if part)
    action = SPAN_RE.sub(lambda m: f"“{m.group(1) or m.group(2)}”", card.get("action", ""))
    return CardText(heading, card.get("camera", ""), action, _spoken(speaking) if speaking else None, cast)


class AnimaticEngine:
    """Engine protocol implementation; ``id`` enters every shot key (bump it when output changes)."""

    id = "animatic-3"  # 3: the lines are spoken (espeak-ng), no longer a buzz
    preview_width = PREVIEW_WIDTH

    def __init__(self, weights: Path | None = None):
        del weights  # the animatic needs none; accepted so every engine is built the same way

    def render(self, request: ShotRequest, progress: Progress | None = None) -> Clip:
        width, height, count = request.width, request.height, request.frames
        if width % 2 or height % 2 or count < 1:
            raise InputError(f"cannot render {width}x{height}, {count} frames", hint="use an even size")
        plate_rng, camera_rng, audio_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(request.seed).spawn(3)
        )
        seconds = count / request.fps
        if request.first_frame is not None:
            from engine.pipeline import fit_image  # the first-frame fit NAVA uses: cover, centre-crop

            still = Image.fromarray(fit_image(request.first_frame, (width, height), (width, height)))
        else:
            still = plate(width, height, request.card.get("scene", ""), request.shot_id, plate_rng)

        timings = time_lines([line.text for line in request.speech], seconds)
        pitches = [voice_pitch(line.voice, line.speaker) for line in request.speech]
        cast = _cast(request, pitches)
        layers: dict[int | None, Image.Image] = {}
        camera = Camera(still)
        frames = np.empty((count, height, width, 3), np.uint8)
        views = viewports(parse_move(request.card.get("camera", "")), count, request.fps, camera_rng)
        for i, view in enumerate(views):
            now = next((k for k, slot in enumerate(timings) if slot.contains(i / request.fps)), None)
            if now not in layers:
                speaking = request.speech[now] if now is not None else None
                layers[now] = overlay(_card_text(request, speaking, cast), width, height)
            shot = camera.shoot(view).convert("RGBA")
            frames[i] = np.asarray(Image.alpha_composite(shot, layers[now]).convert("RGB"))
            if progress:
                progress.step(i + 1, count, "frames")

        voiced = [
            VoicedLine(line.text, line.speaker, pitch, slot)
            for line, pitch, slot in zip(request.speech, pitches, timings)
        ]
        audio = scratch_audio(voiced, request.card.get("sound", ""), seconds, audio_rng)
        return Clip(frames=frames, audio=audio, sample_rate=SAMPLE_RATE, fps=request.fps)
