"""What the take checks cost per second of footage, so a director knows what ``--retake`` adds.

One take is written with the cut's ``write_clip`` (a moving picture, two lines spoken by
espeak-ng in two cast voices, made here), then measured as ``check_take`` does: decoding
(picture at the analysis size, sound) and each check, with its models loaded beforehand
(their load is reported on its own: a run pays it once). The words check runs only when an
ASR model is named (``asr_model``); the voice check uses Resemblyzer (no NAVA weights here).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

FPS, RATE = 24, 48_000
LINES = (("ana", 230.0, "I have been waiting for you all evening."), ("bo", 105.0, "Sorry, the traffic was terrible."))


def _take(folder: Path, width: int, height: int, frames: int):
    import soundfile as sf

    from nava_director.checks import ShotScript
    from nava_director.cut import write_clip
    from nava_director.engines.animatic.speech import speak
    from nava_director.clip import Clip
    from nava_director.engines.base import SpeechLine

    y, x = np.mgrid[0:height, 0:width]
    images = np.stack([np.stack([(x + 3 * t) % 256, (y + t) % 256, (x + y + 5 * t) % 256], -1) for t in range(frames)])
    lines = []
    for who, pitch, text in LINES:
        sf.write(folder / f"{who}.wav", speak("The quick brown fox jumps over the lazy dog.", who, pitch, 3.0, 16_000),
                 16_000)  # fmt: skip
        lines.append(SpeechLine(text, who, who, folder / f"{who}.wav"))
    script = ShotScript.from_speech("bench", lines, frames / FPS)
    audio = np.zeros(round(frames / FPS * RATE), np.float32)
    for line, (who, pitch, _) in zip(script.lines, LINES):
        said = 0.5 * speak(line.text, who, pitch, line.speaking, RATE)
        audio[round(line.start * RATE) : round(line.start * RATE) + len(said)] += said
    clip = write_clip(Clip(images.astype(np.uint8), np.stack([audio, audio]), RATE, FPS), folder / "clip.mp4")
    return clip, script


def run(width: int = 1280, height: int = 704, frames: int = 121, repeats: int = 3,
        asr_model: str | None = None) -> dict:  # fmt: skip
    from nava_director.checks import CHECKS, Models, TakeContext, TakeMedia, run_check

    with tempfile.TemporaryDirectory() as tmp:
        clip, script = _take(Path(tmp), width, height, frames)
        models = Models(asr_model=Path(asr_model) if asr_model else None)
        began = time.perf_counter()
        _ = models.vad, models.embedder, models.asr
        load = time.perf_counter() - began
        seconds = frames / FPS
        timings: dict[str, list[float]] = {"decode_picture": [], "decode_sound": []}
        for _ in range(repeats):
            media = TakeMedia(clip)
            t = time.perf_counter()
            _ = media.frames
            timings["decode_picture"].append(time.perf_counter() - t)
            t = time.perf_counter()
            _ = media.speech_audio
            timings["decode_sound"].append(time.perf_counter() - t)
            ctx = TakeContext(media, script, "nava-bench", models=models)
            for check in CHECKS:
                t = time.perf_counter()
                result = run_check(check, ctx)
                timings.setdefault(check.name, []).append(time.perf_counter() - t)
                timings.setdefault(f"{check.name}:status", []).append(result.status.value)  # type: ignore[arg-type]
    per_check = {k: round(min(v) / seconds, 4) for k, v in timings.items() if not k.endswith(":status")}
    statuses = {k.split(":")[0]: v[0] for k, v in timings.items() if k.endswith(":status")}
    total = sum(per_check.values())
    return {
        "checks_take": {"width": width, "height": height, "frames": frames, "seconds": round(seconds, 3)},
        "checks_model_load_s": round(load, 2),
        "checks_s_per_footage_s": per_check,
        "checks_status": statuses,
        "checks_total_s_per_footage_s": round(total, 4),
    }


