"""The animatic engine: timed cards, camera moves, scratch voices; deterministic, torch-free."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from nava_director.engines.animatic import AnimaticEngine, card
from nava_director.engines.animatic.motion import MOVES, Camera, parse_move, viewports
from nava_director.engines.animatic.scratch_audio import SAMPLE_RATE, character_pitch
from nava_director.engines.animatic.speech_timing import time_lines
from nava_director.engines.base import ShotRequest, SpeechLine
from nava_director.errors import NavaError

ROOT = Path(__file__).resolve().parents[1]
W, H, FRAMES = 96, 64, 49  # 2 s at 24 fps


def request(
    action: str = "林然独自站在海边，望向远方",
    seed: int = 7,
    camera: str = "static",
    speech: list[SpeechLine] | None = None,
    first_frame: np.ndarray | None = None,
) -> ShotRequest:
    return ShotRequest(
        shot_id="arrival",
        caption="…",
        speech=speech or [],
        width=W,
        height=H,
        frames=FRAMES,
        fps=24,
        seed=seed,
        steps=1,
        first_frame=first_frame,
        card={"scene": "beach", "shot": "arrival", "action": action, "camera": camera, "sound": "海浪声"},
    )


DIALOGUE = [SpeechLine("好久不见。", "chen", "陈默", None), SpeechLine("你终于来了。", "lin", "林然", None)]


def test_clip_has_the_shots_exact_length_in_picture_and_sound():
    clip = AnimaticEngine().render(request(speech=DIALOGUE))
    assert clip.frames.shape == (FRAMES, H, W, 3) and clip.frames.dtype == np.uint8
    assert clip.sample_rate == SAMPLE_RATE and clip.fps == 24
    assert clip.audio.shape == (2, FRAMES * SAMPLE_RATE // 24) and clip.audio.dtype == np.float32
    assert 0.01 < np.abs(clip.audio).max() <= 1.0


def test_deterministic_for_a_seed_and_different_across_seeds():
    a, b = AnimaticEngine().render(request(speech=DIALOGUE)), AnimaticEngine().render(request(speech=DIALOGUE))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
    c = AnimaticEngine().render(request(speech=DIALOGUE, seed=8))
    assert not np.array_equal(a.frames, c.frames) and not np.array_equal(a.audio, c.audio)


def test_editing_the_action_changes_every_frame():
    a = AnimaticEngine().render(request(action="林然独自站在海边"))
    b = AnimaticEngine().render(request(action="林然转身离开海边"))
    assert all(not np.array_equal(x, y) for x, y in zip(a.frames, b.frames))


def _pitch(signal: np.ndarray) -> float:
    """Fundamental by autocorrelation over 60–400 Hz."""
    corr = np.fft.irfft(np.abs(np.fft.rfft(signal, 2 * len(signal))) ** 2)[: len(signal)]
    lags = np.arange(SAMPLE_RATE // 400, SAMPLE_RATE // 60)
    return SAMPLE_RATE / lags[np.argmax(corr[lags])]


def test_each_line_is_shown_and_voiced_in_its_own_slot():
    clip = AnimaticEngine().render(request(speech=DIALOGUE))
    reworded = [SpeechLine("好久没见。", "chen", "陈默", None), SpeechLine("你总算来了。", "lin", "林然", None)]
    other = AnimaticEngine().render(request(speech=reworded))  # same lengths: same slots
    slots = time_lines([line.text for line in DIALOGUE], FRAMES / 24)
    for i in range(FRAMES):
        speaking = any(s.contains(i / 24) for s in slots)
        assert speaking == (not np.array_equal(clip.frames[i], other.frames[i])), i
    voice = clip.audio - AnimaticEngine().render(request()).audio  # the same bed (same seed) cancels
    for slot, line in zip(slots, DIALOGUE):
        part = voice[0, int(slot.start * SAMPLE_RATE) : int(slot.speech_end * SAMPLE_RATE)]
        assert np.sqrt(np.mean(part**2)) > 0.02
        assert abs(np.log2(_pitch(part) / character_pitch(line.speaker))) < 0.3  # the character's own
    assert np.abs(voice[:, int(slots[-1].speech_end * SAMPLE_RATE) + 1 :]).max() < 1e-6  # silent after
    assert character_pitch("chen") != character_pitch("lin")


def test_a_cast_voice_sets_the_pitch_and_shows_on_the_card(tmp_path):
    t = np.arange(24_000) / 16_000
    clips = []
    for hz in (140, 260):
        wav = tmp_path / f"voice{hz}.wav"
        sf.write(wav, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 16_000)
        line = SpeechLine("你终于来了。", "lin", "林然", wav)
        clip = AnimaticEngine().render(request(speech=[line]))
        slot = time_lines([line.text], FRAMES / 24)[0]
        part = (clip.audio - AnimaticEngine().render(request()).audio)[0]
        part = part[int(slot.start * SAMPLE_RATE) : int(slot.speech_end * SAMPLE_RATE)]
        assert abs(np.log2(_pitch(part) / hz)) < 0.2
        clips.append(clip)
    assert all(not np.array_equal(a, b) for a, b in zip(*(c.frames for c in clips)))  # a new voice shows


@pytest.mark.parametrize(
    "direction, name",
    [
        ("wide · eye-level · dolly-in · slow", "dolly-in"),
        ("镜头跟随陈默缓慢推进", "dolly-in"),
        ("pan-left", "pan-left"),
        ("手持摄影", "handheld"),
        ("缓缓上摇", "tilt-up"),
        ("固定机位", "static"),
    ],
)
def test_directions_become_moves(direction, name):
    move = parse_move(direction)
    base = MOVES[name]
    assert (np.sign(move.zoom), np.sign(move.dx), np.sign(move.dy), move.shake > 0) == (
        np.sign(base.zoom),
        np.sign(base.dx),
        np.sign(base.dy),
        base.shake > 0,
    )
    if "slow" in direction or "缓" in direction:
        assert abs(move.zoom) + abs(move.dx) + abs(move.dy) < abs(base.zoom) + abs(base.dx) + abs(base.dy)


def _shift(a: np.ndarray, b: np.ndarray) -> int:
    """Horizontal offset that best maps row profile a onto b."""
    a, b = a - a.mean(), b - b.mean()
    scores = [np.dot(a[max(0, -s) : len(a) - max(0, s)], b[max(0, s) : len(b) - max(0, -s)]) for s in range(-40, 41)]
    return int(np.argmax(scores)) - 40


def test_pan_right_slides_the_picture_left_and_dolly_in_magnifies():
    rng = np.random.default_rng(0)
    still = Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
    camera = Camera(still)
    pan = viewports(parse_move("pan-right"), FRAMES, 24, rng)
    first, last = (np.asarray(camera.shoot(v)).mean(axis=(0, 2)) for v in (pan[0], pan[-1]))
    assert np.array_equal(np.asarray(camera.shoot(pan[0])), np.asarray(still))  # starts on the plate
    assert _shift(first, last) < -10
    dolly = viewports(parse_move("dolly-in"), FRAMES, 24, rng)
    assert dolly[0].zoom == 1.0 and dolly[-1].zoom > 1.2


def test_continued_first_frame_is_the_plate():
    rng = np.random.default_rng(1)
    given = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    clip = AnimaticEngine().render(request(first_frame=given))
    middle = slice(H // 2 - 4, H // 2 + 4)  # between the text panels
    assert np.array_equal(clip.frames[0][middle], given[middle])


def _fake_fontconfig(bin_dir: Path, match: str, listing: str) -> None:
    for name, out in (("fc-match", match), ("fc-list", listing)):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\nprintf '{out}'\n")
        script.chmod(0o755)


def test_missing_cjk_font_is_a_clear_error(tmp_path, monkeypatch):
    _fake_fontconfig(tmp_path, "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf\\n0", "")
    monkeypatch.setenv("PATH", str(tmp_path))
    card.cjk_font_file.cache_clear()
    card.font.cache_clear()
    try:
        with pytest.raises(NavaError, match="Chinese") as error:
            AnimaticEngine().render(request())
        assert "fonts-noto-cjk" in error.value.hint
        monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
        with pytest.raises(NavaError, match="fontconfig"):
            card.cjk_font_file()
    finally:
        card.cjk_font_file.cache_clear()
        card.font.cache_clear()


def test_rendering_imports_no_torch():
    code = (
        "import sys\nfrom tests.test_animatic import request, DIALOGUE\n"
        "from nava_director.engines.registry import create_engine\n"
        "create_engine('animatic').render(request(speech=DIALOGUE))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_chinese_is_spoken_as_pinyin_with_tone_numbers_and_english_as_it_is():
    from nava_director.engines.animatic.speech import espeak_input

    assert espeak_input("你好，好久不见。") == ("cmn-latn-pinyin", "ni3 hao3, hao3 jiu3 bu2 jian4.")
    assert espeak_input("Long time no see.") == ("en-us", "Long time no see.")
