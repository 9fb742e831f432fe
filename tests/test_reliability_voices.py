"""Voices the speaker model cannot use are refused by `validate` at their `voice:` line, by the
engine's own rule; the engine refuses the same files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from storyboard_helpers import diagnostics_of, make_project

from engine.errors import VoiceError
from engine.speaker import SpeakerEncoder, load_voice

RATE = 16000


def _speechy(seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def _with(values, at=slice(100, 110)):
    wave = _speechy()
    wave[at] = values
    return wave


BAD = {  # name -> (samples, rate, subtype, what the line says)
    "silent": (np.zeros(2 * RATE, np.float32), RATE, "FLOAT", "is silent"),
    "nearly silent": (_speechy() * 1e-5, RATE, "FLOAT", "is silent"),
    "DC": (np.full(2 * RATE, 0.4, np.float32), RATE, "FLOAT", "constant offset (DC)"),
    "negative DC, PCM": (np.full(2 * RATE, -0.25, np.float32), RATE, "PCM_16", "constant offset (DC)"),
    "NaN": (_with(np.nan), RATE, "FLOAT", "NaN or inf"),
    "Inf": (_with(np.inf), RATE, "FLOAT", "NaN or inf"),
    "-Inf in a double WAV": (_with(-np.inf), RATE, "DOUBLE", "NaN or inf"),
    "100 Hz": (_speechy(2.0, 100), 100, "FLOAT", "sampled at 100 Hz"),
    "1 Hz": (np.linspace(-0.5, 0.5, 5, dtype=np.float32), 1, "FLOAT", "sampled at 1 Hz"),
    "4 kHz": (_speechy(2.0, 4000), 4000, "PCM_16", "sampled at 4000 Hz"),
}


def _voice(folder, name) -> str:
    samples, rate, subtype, _ = BAD[name]
    sf.write(folder / "voices" / "bad.wav", samples, rate, subtype=subtype)
    return str(folder / "voices" / "bad.wav")


@pytest.mark.parametrize("name", list(BAD))
def test_validate_refuses_the_voice_at_its_line(tmp_path, monkeypatch, name):
    monkeypatch.chdir(make_project(tmp_path, cast="characters:\n  lin: {name: 林然, voice: voices/bad.wav}\n"))
    _voice(tmp_path, name)
    lines = diagnostics_of("cast: cast.yaml\nscenes:\n  - id: s\n    shots:\n      - id: a\n        duration: 2\n"
                           "        action: 走\n        dialogue: [{who: lin, line: 你好}]\n")
    assert len(lines) == 1 and lines[0].startswith("cast.yaml:2:26: characters.lin.voice: voice file "), lines
    assert BAD[name][3] in lines[0] and "sampled at 8 kHz or more" in lines[0]


@pytest.mark.parametrize("name", [n for n in BAD if n != "1 Hz"])
def test_the_engine_refuses_the_same_voice(tmp_path, name):
    (tmp_path / "voices").mkdir()
    with pytest.raises(VoiceError, match=BAD[name][3].replace("(", r"\(").replace(")", r"\)")):
        load_voice(_voice(tmp_path, name))


def test_8_khz_and_stereo_44_1_voices_are_used(tmp_path):
    sf.write(tmp_path / "phone.wav", _speechy(1.5, 8000), 8000, subtype="PCM_16")
    sf.write(tmp_path / "cd.wav", np.stack([_speechy(1.5, 44100)] * 2, axis=1), 44100)
    assert load_voice(tmp_path / "phone.wav").shape == (24000,)
    assert load_voice(tmp_path / "cd.wav").shape == (24000,)


def test_the_embedding_cache_is_keyed_by_the_samples_not_the_file_bytes(tmp_path):
    wave = _speechy()
    sf.write(tmp_path / "a.wav", wave, RATE, subtype="FLOAT")
    with sf.SoundFile(tmp_path / "b.wav", "w", RATE, 1, subtype="FLOAT") as f:
        f.title = "another header, the same voice"  # what a PEAK chunk's timestamp does to the bytes
        f.write(wave)
    assert (tmp_path / "a.wav").read_bytes() != (tmp_path / "b.wav").read_bytes()
    speaker, cache = SpeakerEncoder.from_config(), tmp_path / "cache"
    first = speaker.embed_file(tmp_path / "a.wav", cache)
    (entry,) = cache.iterdir()
    torch.save(torch.full((192,), 7.0), entry)
    assert speaker.embed_file(tmp_path / "b.wav", cache).eq(7.0).all()
    sf.write(tmp_path / "c.wav", wave * 0.5, RATE, subtype="FLOAT")
    assert not speaker.embed_file(tmp_path / "c.wav", cache).eq(7.0).all() and first.shape == (192,)
