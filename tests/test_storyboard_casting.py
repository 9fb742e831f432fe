"""Casting files and voices: paths relative to the file naming them; each WAV checked,
problems reported at the casting file's `voice:` line."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from storyboard_helpers import diagnostics_of, load, make_project

STORYBOARD = (
    "cast: cast/cast.yaml\n"
    "scenes:\n"
    "  - id: s\n"
    "    shots:\n"
    "      - id: a\n"
    "        duration: 4\n"
    "        dialogue:\n"
    "          - {who: lin, line: 你好。}\n"
)


def write_cast(folder, voice_line: str) -> None:
    (folder / "cast").mkdir(exist_ok=True)
    (folder / "cast" / "cast.yaml").write_text(
        "characters:\n"
        "  lin:\n"
        "    name: 林然\n"
        f"    voice: {voice_line}\n",
        encoding="utf-8",
    )


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 220 * t).astype(np.float32)
    return np.stack([wave] * channels, 1)


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cast" / "voices").mkdir(parents=True)
    return tmp_path


def test_voices_resolve_relative_to_the_casting_file(folder):
    sf.write(folder / "cast" / "voices" / "lin.wav", tone(2.0), 16000)
    write_cast(folder, "voices/lin.wav")
    loaded = load(STORYBOARD)
    voice = loaded.characters["lin"].voice
    assert voice.is_absolute() and voice == (folder / "cast" / "voices" / "lin.wav").resolve()
    assert loaded.storyboard.cast == (folder / "cast" / "cast.yaml").resolve()


@pytest.mark.parametrize("rate,channels", [(8000, 1), (44100, 2), (48000, 1)])
def test_any_rate_mono_or_stereo_is_accepted(folder, rate, channels):
    sf.write(folder / "cast" / "voices" / "lin.wav", tone(1.5, rate, channels), rate)
    write_cast(folder, "voices/lin.wav")
    assert load(STORYBOARD).warnings == []


def test_missing_voice_is_reported_at_the_voice_line(folder):
    write_cast(folder, "voices/nobody.wav")
    assert diagnostics_of(STORYBOARD) == [
        "cast/cast.yaml:4:12: characters.lin.voice: voice file cast/voices/nobody.wav not found "
        "(record or copy the WAV there, or fix the path)"
    ]


def test_unreadable_voice(folder):
    (folder / "cast" / "voices" / "lin.wav").write_bytes(b"RIFF....garbage")
    write_cast(folder, "voices/lin.wav")
    (found,) = diagnostics_of(STORYBOARD)
    assert found.startswith("cast/cast.yaml:4:12: characters.lin.voice: voice file cast/voices/lin.wav "
                            "is not readable audio")


def test_too_short_voice(folder):
    sf.write(folder / "cast" / "voices" / "lin.wav", tone(0.5), 16000)
    write_cast(folder, "voices/lin.wav")
    (found,) = diagnostics_of(STORYBOARD)
    assert found.startswith("cast/cast.yaml:4:12: characters.lin.voice: voice file cast/voices/lin.wav "
                            "is 0.50 s, shorter than 1 s (use a WAV of 1–30 s")


def test_too_long_voice(folder):
    sf.write(folder / "cast" / "voices" / "lin.wav", tone(31.0, rate=8000), 8000)
    write_cast(folder, "voices/lin.wav")
    (found,) = diagnostics_of(STORYBOARD)
    assert found.startswith("cast/cast.yaml:4:12: characters.lin.voice: voice file cast/voices/lin.wav "
                            "is 31.0 s, longer than 30 s")


def test_too_many_channels(folder):
    sf.write(folder / "cast" / "voices" / "lin.wav", tone(2.0, channels=3), 16000)
    write_cast(folder, "voices/lin.wav")
    (found,) = diagnostics_of(STORYBOARD)
    assert found.startswith("cast/cast.yaml:4:12: characters.lin.voice: voice file cast/voices/lin.wav has 3 channels")


def test_casting_file_schema_errors_are_placed_in_it(folder):
    (folder / "cast" / "cast.yaml").write_text("characters:\n  lin:\n    voise: a.wav\n", encoding="utf-8")
    found = diagnostics_of(STORYBOARD)
    assert found == ["cast/cast.yaml:3:5: characters.lin.voise: unknown key 'voise' (did you mean 'voice'?)"]


def test_casting_file_syntax_error(folder):
    (folder / "cast" / "cast.yaml").write_text("characters:\n  lin: {name: 林然\n", encoding="utf-8")
    (found,) = diagnostics_of(STORYBOARD)
    assert found.startswith("cast/cast.yaml:3:1: yaml: ")


def test_storyboard_and_cast_errors_come_together_storyboard_first(folder):
    write_cast(folder, "voices/nobody.wav")
    found = diagnostics_of(STORYBOARD.replace("duration: 4", "duration: 40"))
    assert [f.split(": ")[0] for f in found] == ["bad.yaml:6:19", "cast/cast.yaml:4:12"]


def test_a_shared_casting_file(tmp_path, monkeypatch):
    """Two storyboards in different folders name one casting file."""
    make_project(tmp_path / "shared")
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    loaded = load(STORYBOARD.replace("cast/cast.yaml", "../shared/cast.yaml"))
    assert loaded.characters["chen"].voice == (tmp_path / "shared" / "voices" / "chen.wav").resolve()
    assert loaded.characters["lin"].name == "林然"


def test_speech_span_in_a_look_of_the_casting_file(folder):
    sf.write(folder / "cast" / "voices" / "lin.wav", tone(2.0), 16000)
    (folder / "cast" / "cast.yaml").write_text(
        "characters:\n  lin:\n    look: 总是说~~你好~~的女孩\n    voice: voices/lin.wav\n", encoding="utf-8"
    )
    (found,) = diagnostics_of(STORYBOARD)
    assert found.startswith("cast/cast.yaml:3:11: characters.lin.look: speech span in `look`")
