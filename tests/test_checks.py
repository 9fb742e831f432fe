"""The take checks against real clips: each written as an mp4 and decoded back, as a take is.

The failing inputs are made for real (black frames, a frozen frame, a flicker, a silent or
clipped track, a continued shot started from another image, a line said in the other
character's voice, a tiny NAVA engine's noise) and must fail by measurement; the animatic's
spoken takes must pass the speech checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from nava_director.checks import (
    CHECKS,
    Models,
    ShotScript,
    Status,
    TakeChecks,
    TakeContext,
    TakeMedia,
    chain_drift,
    check_take,
    mean_lab,
    run_check,
)
from nava_director.checks import voice, words
from nava_director.cut.clipfile import write_clip
from nava_director.engines.animatic import AnimaticEngine
from nava_director.engines.animatic.speech import speak
from nava_director.clip import Clip
from nava_director.engines.base import ShotRequest, SpeechLine
from tests.storyboard_helpers import VOICES

RATE, FPS = 48_000, 24
H, W = 64, 96
NAVA = "nava-test"  # an engine id of the generated family: every check applies


def write(path: Path, frames: np.ndarray, audio: np.ndarray | None = None) -> Path:
    """Write frames (+ mono or stereo audio, default a quiet noise bed) as a take's clip.mp4."""
    seconds = len(frames) / FPS
    if audio is None:
        audio = 0.05 * np.random.default_rng(1).standard_normal(round(seconds * RATE)).astype(np.float32)
    audio = np.stack([audio, audio]) if audio.ndim == 1 else audio
    return write_clip(Clip(frames, audio.astype(np.float32), RATE, FPS), path)


def moving(n: int = 48, seed: int = 0) -> np.ndarray:
    """A picture that moves: a textured image sliding right a pixel a frame."""
    base = np.random.default_rng(seed).integers(0, 255, (H, W + n, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(base).resize((W + n, H)).filter(_blur()))
    return np.stack([base[:, i : i + W] for i in range(n)])


def _blur():
    from PIL import ImageFilter

    return ImageFilter.GaussianBlur(1)


def checks_of(path: Path, speech: list[SpeechLine] | None = None, engine: str = NAVA, **kw) -> TakeChecks:
    media = TakeMedia(path)
    script = ShotScript.from_speech("s", speech or [], media.seconds)
    return check_take(TakeContext(media, script, engine, **kw))


def status(result: TakeChecks, name: str) -> Status:
    return result.result(name).status


# ---- the animatic speaks -----------------------------------------------------------------


def animatic_take(path: Path, speech: list[SpeechLine], frames: int = 97) -> Path:
    request = ShotRequest("reunion", "…", speech, 160, 96, frames, FPS, 7, 1,
                          card={"scene": "beach", "shot": "reunion", "action": "陈默走近", "camera": "static",
                                "sound": "海浪声"})  # fmt: skip
    return write_clip(AnimaticEngine().render(request), path)


DIALOGUE = [
    SpeechLine("好久不见。", "chen", "陈默", VOICES / "chen.wav"),
    SpeechLine("你终于来了。", "lin", "林然", VOICES / "lin.wav"),
]


def test_an_animatic_take_passes_the_speech_checks_and_its_card_is_not_judged(tmp_path):
    clip = animatic_take(tmp_path / "a.mp4", DIALOGUE)
    result = checks_of(clip, DIALOGUE, AnimaticEngine.id)
    assert status(result, "speech") is Status.PASS, result.result("speech").reason
    assert [row["status"] for row in result.result("speech").lines] == ["pass", "pass"]
    for name in ("clipping", "silence", "dc-offset"):
        assert status(result, name) is Status.PASS, result.result(name).reason
    for name in ("blank", "frozen", "flicker", "seam", "voice", "loudness"):  # cards and a synthesizer
        assert status(result, name) is Status.NOT_RUN and result.result(name).reason
    assert status(result, "words") is Status.NOT_RUN and "--asr-model" in result.result("words").reason
    assert result.failed == [] and result.mean_lab is None

    english = [SpeechLine("I promised you I would come back.", "chen", "Chen", None)]
    assert status(checks_of(animatic_take(tmp_path / "en.mp4", english), english, AnimaticEngine.id),
                  "speech") is Status.PASS  # fmt: skip
    quiet = checks_of(animatic_take(tmp_path / "none.mp4", []), [], AnimaticEngine.id)
    assert status(quiet, "speech") is Status.NOT_RUN and status(quiet, "stray-speech") is Status.PASS


def test_speech_missing_from_a_lines_slot_fails_and_speech_nobody_says_warns(tmp_path):
    """The animatic's own voice, then the same take's picture with the line's slot muted."""
    clip = animatic_take(tmp_path / "a.mp4", DIALOGUE)
    media = TakeMedia(clip)
    audio = media.audio.copy()
    slots = ShotScript.from_speech("s", DIALOGUE, media.seconds).lines
    audio[:, round(slots[1].start * RATE) :] *= 0.001  # lin's line is not said
    muted = write(tmp_path / "muted.mp4", moving(len(media.frames)), audio)
    result = checks_of(muted, DIALOGUE)
    assert status(result, "speech") is Status.FAIL
    assert [row["status"] for row in result.result("speech").lines] == ["pass", "fail"]
    assert "line 2" in result.result("speech").reason and "你终于来了" in result.result("speech").reason

    spoken = write(tmp_path / "stray.mp4", moving(len(media.frames)), media.audio)
    stray = checks_of(spoken, [])  # the same speech, in a shot the script gives no dialogue
    assert status(stray, "stray-speech") is Status.WARN and stray.failed == []


@pytest.mark.slow
def test_a_tiny_nava_take_is_noise_and_fails_the_speech_check(tmp_path):
    from engine.make_tiny_weights import make_tiny_weights
    from nava_director.engines.nava import NavaEngine

    weights = make_tiny_weights(tmp_path / "nava")
    engine = NavaEngine(weights=weights)
    line = [SpeechLine("好久不见。", "chen", "陈默", VOICES / "chen.wav")]
    request = ShotRequest("s1", "黄昏的海边，陈默轻声说<S>好久不见。<E>海浪声。", line, 64, 32, 49, FPS, 7, 1)
    clip = write_clip(engine.render(request), tmp_path / "n.mp4")
    result = checks_of(clip, line, engine.id, models=Models(weights=weights))
    assert status(result, "speech") is Status.FAIL
    assert result.result("speech").value < 0.3
    assert status(result, "voice") is Status.NOT_RUN and "redimnet" in result.result("voice").reason

    # with the weights at hand the voice check hears with the engine's own speaker model
    for who, pitch in PITCH.items():
        sf.write(tmp_path / f"{who}.wav", speak(PANGRAM, who, pitch, 4.5, 16_000), 16_000)
    lines = [SpeechLine("I have been waiting for you all evening.", "ana", "Ana", tmp_path / "ana.wav"),
             SpeechLine("Sorry, the traffic was terrible tonight.", "bo", "Bo", tmp_path / "bo.wav")]  # fmt: skip
    script = ShotScript.from_speech("s", lines, 5.0)
    audio = np.zeros(5 * RATE, np.float32)
    for line in script.lines:
        said = 0.5 * speak(line.text, line.speaker, PITCH[line.speaker], line.speaking, RATE)
        audio[round(line.start * RATE) : round(line.start * RATE) + len(said)] += said
    voiced = write(tmp_path / "voiced.mp4", moving(120), audio)
    heard = run_check(voice.CHECK, TakeContext(TakeMedia(voiced), script, engine.id, models=Models(weights=weights)))
    assert heard.status in (Status.PASS, Status.FAIL) and heard.unit == "cosine (redimnet)"  # random weights: measured
    assert all(-1 <= row["value"] <= 1 and row["other_speaker"] for row in heard.lines)


# ---- picture --------------------------------------------------------------------------------


def test_black_frames_fail_and_a_moving_picture_passes(tmp_path):
    black = np.zeros((48, H, W, 3), np.uint8)
    result = checks_of(write(tmp_path / "black.mp4", black))
    assert status(result, "blank") is Status.FAIL and "black" in result.result("blank").reason
    grey = np.full((48, H, W, 3), (90, 140, 200), np.uint8)  # a solid colour, not black
    assert status(checks_of(write(tmp_path / "blue.mp4", grey)), "blank") is Status.FAIL
    good = checks_of(write(tmp_path / "good.mp4", moving()))
    for name in ("blank", "frozen", "flicker"):
        assert status(good, name) is Status.PASS, good.result(name).reason
    assert len(good.mean_lab) == 3


def test_a_frozen_frame_fails(tmp_path):
    still = np.repeat(moving(1), 48, axis=0)
    result = checks_of(write(tmp_path / "frozen.mp4", still))
    assert status(result, "frozen") is Status.FAIL and result.result("frozen").value >= 1.9
    half = np.concatenate([moving(24), np.repeat(moving(24)[-1:], 30, axis=0)])  # moves, then holds 1.25 s
    assert status(checks_of(write(tmp_path / "half.mp4", half)), "frozen") is Status.FAIL


def test_an_abrupt_flicker_fails(tmp_path):
    frames = moving().astype(np.int16)
    frames[[10, 30]] += 60  # two frames flash
    result = checks_of(write(tmp_path / "flicker.mp4", np.clip(frames, 0, 255).astype(np.uint8)))
    assert status(result, "flicker") is Status.FAIL and "2 frame" in result.result("flicker").reason
    fade = moving().astype(np.float32) * np.linspace(1.0, 0.4, 48)[:, None, None, None]  # a steady fade is no flicker
    assert status(checks_of(write(tmp_path / "fade.mp4", fade.astype(np.uint8))), "flicker") is Status.PASS


def test_a_continued_shot_started_from_another_image_fails_the_seam(tmp_path):
    upstream = moving(48, seed=1)
    last = tmp_path / "last_frame.png"
    Image.fromarray(upstream[-1]).save(last)
    following = np.stack([np.roll(upstream[-1], i, axis=1) for i in range(48)])  # starts on it, then pans
    ok = checks_of(write(tmp_path / "ok.mp4", following), upstream_last_frame=last)
    assert status(ok, "seam") is Status.PASS, ok.result("seam").reason
    other = moving(48, seed=2)
    jump = checks_of(write(tmp_path / "jump.mp4", other), upstream_last_frame=last)
    assert status(jump, "seam") is Status.FAIL and "seam" in jump.result("seam").reason
    assert status(checks_of(write(tmp_path / "free.mp4", other)), "seam") is Status.NOT_RUN


# ---- sound ----------------------------------------------------------------------------------


def sine(level: float, seconds: float = 2.0, hz: float = 220.0) -> np.ndarray:
    return (level * np.sin(2 * np.pi * hz * np.arange(round(seconds * RATE)) / RATE)).astype(np.float32)


def test_a_silent_track_fails_silence_and_loudness(tmp_path):
    result = checks_of(write(tmp_path / "silent.mp4", moving(), np.zeros(2 * RATE, np.float32)))
    assert status(result, "silence") is Status.FAIL and result.result("silence").value == 1.0
    assert status(result, "loudness") is Status.FAIL
    good = checks_of(write(tmp_path / "tone.mp4", moving(), sine(0.3)))
    for name in ("silence", "loudness", "clipping", "dc-offset"):
        assert status(good, name) is Status.PASS, good.result(name).reason


def test_a_clipped_track_fails(tmp_path):
    clipped = np.clip(sine(3.0), -1.0, 1.0)
    result = checks_of(write(tmp_path / "clipped.mp4", moving(), clipped))
    assert status(result, "clipping") is Status.FAIL, result.result("clipping").reason


def test_a_dc_offset_and_a_whisper_quiet_track_fail(tmp_path):
    noise = 0.05 * np.random.default_rng(2).standard_normal(2 * RATE).astype(np.float32)
    assert status(checks_of(write(tmp_path / "dc.mp4", moving(), noise + 0.1)), "dc-offset") is Status.FAIL
    quiet = checks_of(write(tmp_path / "quiet.mp4", moving(), sine(0.002)))
    assert status(quiet, "loudness") is Status.FAIL and "LU from" in quiet.result("loudness").reason


# ---- the right voice ------------------------------------------------------------------------

PANGRAM = "The quick brown fox jumps over the lazy dog, then runs all the way back home again."
PITCH = {"ana": 230.0, "bo": 105.0}


def test_a_line_in_the_other_characters_voice_scores_lower_than_in_its_own(tmp_path):
    """Cast voices made by espeak-ng (two distinct voices); the take's lines in the right and the swapped voice."""
    for who, pitch in PITCH.items():
        sf.write(tmp_path / f"{who}.wav", speak(PANGRAM, who, pitch, 4.5, 16_000), 16_000)
    lines = [SpeechLine("I have been waiting for you all evening.", "ana", "Ana", tmp_path / "ana.wav"),
             SpeechLine("Sorry, the traffic was terrible tonight.", "bo", "Bo", tmp_path / "bo.wav")]  # fmt: skip
    script = ShotScript.from_speech("s", lines, 5.0)
    models = Models()
    scores = {}
    for take, said_by in (("own", {"ana": "ana", "bo": "bo"}), ("swapped", {"ana": "bo", "bo": "ana"})):
        audio = np.zeros(5 * RATE, np.float32)
        for line in script.lines:
            who = said_by[line.speaker]
            said = 0.5 * speak(line.text, who, PITCH[who], line.speaking, RATE)
            audio[round(line.start * RATE) : round(line.start * RATE) + len(said)] += said
        clip = write(tmp_path / f"{take}.mp4", moving(120), audio)
        ctx = TakeContext(TakeMedia(clip), script, NAVA, models=models)
        scores[take] = run_check(voice.CHECK, ctx)
        assert run_check(CHECKS[0], ctx).status is Status.PASS  # both takes are speech where the script has it
    own, swapped = scores["own"], scores["swapped"]
    assert own.status is Status.PASS, own.reason
    assert swapped.status is Status.FAIL, swapped.reason
    for right, wrong in zip(own.lines, swapped.lines):
        assert wrong["value"] < right["value"]  # its own cast voice: lower when the other one says it
        assert wrong["value"] < wrong["other"]  # and the other character's voice is closer
    assert "resemblyzer" in own.unit


# ---- the words ------------------------------------------------------------------------------


def test_error_rates_count_characters_for_chinese_and_words_otherwise():
    assert words.error_rate(words.units("你终于来了。", True), words.units("你总算来了", True)) == pytest.approx(2 / 5)
    assert words.error_rate(words.units("Long time, no see!", False), words.units("long time no sea", False)) == 0.25
    assert words.error_rate(words.units("好久不见", True), []) == 1.0


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> Path:
    from tests.tiny_whisper import make_tiny_whisper

    return make_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


def test_the_words_check_runs_a_named_whisper_model_and_never_passes_without_one(tmp_path, tiny_whisper):
    clip = animatic_take(tmp_path / "a.mp4", DIALOGUE, frames=49)
    without = checks_of(clip, DIALOGUE, AnimaticEngine.id)
    assert status(without, "words") is Status.NOT_RUN and without.asr_model is None
    heard = checks_of(clip, DIALOGUE, AnimaticEngine.id, models=Models(asr_model=tiny_whisper))
    result = heard.result("words")
    assert result.status is Status.FAIL, result.reason  # random weights hear nonsense: a fail, measured
    assert [row["measure"] for row in result.lines] == ["cer", "cer"]
    assert all(isinstance(row["heard"], str) and row["value"] > 0.35 for row in result.lines)
    assert heard.asr_model == tiny_whisper.name and not heard.current(None) and heard.current(tiny_whisper.name)


# ---- colour drift along a chain -------------------------------------------------------------


def test_a_steady_colour_drift_along_a_chain_is_flagged(tmp_path):
    labs = {}
    for i, shot in enumerate(["a", "b", "c", "d"]):
        tinted = moving(24, seed=3).astype(np.float32)
        tinted[..., 0] += 14 * i  # warmer shot by shot
        tinted[..., 2] -= 14 * i
        clip = write(tmp_path / f"{shot}.mp4", np.clip(tinted, 0, 255).astype(np.uint8))
        labs[shot] = mean_lab(TakeMedia(clip).frames)
    parents = {"a": None, "b": "a", "c": "b", "d": "c", "e": None}
    drift = chain_drift(parents, labs)
    assert drift["a"].status is Status.NOT_RUN and drift["e"].status is Status.NOT_RUN
    assert drift["b"].status is Status.PASS  # only two shots: not yet a steady drift
    assert drift["d"].status is Status.FAIL and "steadily" in drift["d"].reason
    assert drift["b"].value < drift["c"].value < drift["d"].value
    steady = chain_drift(parents, {shot: labs["a"] for shot in "abcd"})
    assert all(steady[s].status is Status.PASS and steady[s].value == 0 for s in "bcd")
    assert mean_lab(np.full((1, 2, 2, 3), 255, np.uint8)) == pytest.approx([100, 0, 0], abs=0.05)


# ---- the record ----------------------------------------------------------------------------


def test_the_stored_record_round_trips_and_every_check_is_declared(tmp_path):
    result = checks_of(write(tmp_path / "black.mp4", np.zeros((24, H, W, 3), np.uint8)), DIALOGUE[:1])
    stored = json.loads(json.dumps(result.to_json(), ensure_ascii=False))
    assert stored["failed"] == result.failed and "blank" in stored["failed"]
    again = TakeChecks.from_json(stored)
    assert again.results == result.results and again.current(None)
    names = [check.name for check in CHECKS]
    assert len(set(names)) == len(names) == len(result.results)
    assert all(check.what and check.engines for check in CHECKS)
