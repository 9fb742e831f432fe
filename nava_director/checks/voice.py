"""The right voice: each line's speech against its character's cast voice and the shot's other speaker.

The speech heard (Silero VAD) in a line's slot is embedded (the engine's ReDimNet with NAVA
weights, else Resemblyzer) and compared by cosine with the cast voice of its speaker and of
every other speaker of the shot. A line passes when its own similarity reaches the
embedder's threshold and beats the closest other voice by ``voice_margin``. Value: the
worst line's own similarity.
"""

from __future__ import annotations

import numpy as np

from nava_director.checks.check import GENERATED, Check, TakeContext
from nava_director.checks.media import SPEECH_RATE
from nava_director.checks.result import CheckResult, judged, not_run
from nava_director.checks.speech import heard
from nava_director.checks.vad import speech_mask

NAME = "voice"
MIN_SPEECH_SECONDS = 0.5  # less speech than this in a slot: nothing to compare (the speech check says why)


def line_speech(ctx: TakeContext, start: float, end: float) -> np.ndarray:
    """The samples of [start, end) heard as speech, 16 kHz mono."""
    audio = ctx.media.speech_audio
    mask = speech_mask(heard(ctx), ctx.thresholds.speech_probability, len(audio))
    a, b = round(start * SPEECH_RATE), round(end * SPEECH_RATE)
    return audio[a:b][mask[a:b]]


def measure(ctx: TakeContext) -> CheckResult:
    voices = ctx.script.voices()
    cast = [(i, line) for i, line in enumerate(ctx.script.lines, start=1) if line.speaker in voices]
    if not cast:
        return not_run(NAME, "no line of this shot has a cast voice to compare with")
    embedder = ctx.models.embedder
    limit = ctx.thresholds.voice_min_similarity_redimnet if embedder.name == "redimnet" \
        else ctx.thresholds.voice_min_similarity  # fmt: skip
    rows, failing = [], []
    for i, line in cast:
        speech = line_speech(ctx, line.start, line.end)
        if len(speech) < MIN_SPEECH_SECONDS * SPEECH_RATE:
            rows.append({"line": i, "text": line.text, "speaker": line.speaker, "status": "not-run"})
            continue
        heard_as = embedder.embed(speech)
        own = float(heard_as @ ctx.models.voice_embedding(voices[line.speaker]))
        others = {who: float(heard_as @ ctx.models.voice_embedding(path)) for who, path in voices.items()
                  if who != line.speaker}  # fmt: skip
        closest = max(others.items(), key=lambda kv: kv[1], default=None)
        ok = own >= limit and (closest is None or own > closest[1] + ctx.thresholds.voice_margin)
        rows.append({"line": i, "text": line.text, "speaker": line.speaker, "value": round(own, 3),
                     "other": round(closest[1], 3) if closest else None,
                     "other_speaker": closest[0] if closest else None, "status": "pass" if ok else "fail"})  # fmt: skip
        if not ok:
            against = f", {closest[0]}'s {closest[1]:.2f}" if closest else ""
            failing.append(f"line {i} ({line.speaker}: {line.text}) sounds {own:.2f} like {line.speaker}'s voice"
                           f"{against}")  # fmt: skip
    measured = [row["value"] for row in rows if "value" in row]
    if not measured:
        return not_run(NAME, f"too little speech in the lines' slots to compare voices ({embedder.name})")
    worst = min(measured)
    return judged(NAME, not failing, worst, limit, f"cosine ({embedder.name})",
                  f"every line is closest to its own cast voice (least {worst:.2f}, {embedder.name})",
                  "; ".join(failing), rows)  # fmt: skip


CHECK = Check(NAME, "each line's speaker similarity to its cast voice, above the shot's other speaker's", GENERATED,
              measure, "the animatic speaks with a synthesizer, not the cast voice")  # fmt: skip
