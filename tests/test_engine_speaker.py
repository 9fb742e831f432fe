"""ReDimNet against the official code's outputs (fixtures/components/redimnet_tiny*), voices, cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
import torch
from safetensors.torch import load_file

from engine.errors import VoiceError, WeightsError
from engine.mel import htk_filterbank
from engine.speaker import SpeakerEncoder, load_voice
from tests.conftest import COMPONENTS

NAMES = ["redimnet_tiny", "redimnet_tiny_alt"]
EMBEDDING_ATOL = {"redimnet_tiny": 1e-4, "redimnet_tiny_alt": 3e-4}  # the fixture's suggestions
FEATURES_ATOL, MAPS_ATOL = 2e-4, 1e-4
# log(mel + 1e-6) amplifies rounding in near-silent bins (the fixture's float64 error peaks
# there): bins within 100x of that floor get a looser bound (seen: 2.3e-4 at mel 2.3e-6 on an
# AMD EPYC; a wrong window, scale or hop is off by 1e-1 or more everywhere)
SILENT_MEL, SILENT_FEATURES_ATOL = 1e-4, 1e-3


def assert_features_close(spec, wave: torch.Tensor, expected: torch.Tensor) -> None:
    features, mel = spec(wave), spec.mel_power(wave)
    silent = mel < SILENT_MEL
    torch.testing.assert_close(features[~silent], expected[~silent], atol=FEATURES_ATOL, rtol=0)
    torch.testing.assert_close(features[silent], expected[silent], atol=SILENT_FEATURES_ATOL, rtol=0)


@pytest.fixture(scope="module", params=NAMES)
def case(request):
    name = request.param
    return name, SpeakerEncoder.from_file(COMPONENTS / f"{name}.pt"), load_file(COMPONENTS / f"{name}.safetensors")


def test_front_end_matches_reference(case):
    _, speaker, io = case
    spec = speaker.model.spec
    torch.testing.assert_close(spec.mel_power(io["in.wav"]), io["int.melspec"], atol=1e-5, rtol=1e-5)
    assert_features_close(spec, io["in.wav"], io["int.features"])
    assert_features_close(spec, io["in.wav_long"], io["int.features_long"])


def test_every_stage_matches_reference(case):
    _, speaker, io = case
    backbone = speaker.model.backbone
    with torch.no_grad():
        outputs = backbone.layer_outputs(io["int.features"])
        torch.testing.assert_close(outputs[0], io["int.stem"], atol=MAPS_ATOL, rtol=0)
        for i, output in enumerate(outputs[1:]):
            torch.testing.assert_close(output, io[f"int.stage{i}"], atol=MAPS_ATOL, rtol=0)
        torch.testing.assert_close(backbone.fin_wght1d(outputs), io["int.fin_weighted"], atol=MAPS_ATOL, rtol=0)
        torch.testing.assert_close(backbone(io["int.features"]), io["int.backbone"], atol=MAPS_ATOL, rtol=0)
        pooled = speaker.model.pool(io["int.backbone"])
        torch.testing.assert_close(pooled, io["int.pooled"], atol=MAPS_ATOL, rtol=0)
        torch.testing.assert_close(speaker.model.bn(pooled), io["int.pooled_bn"], atol=MAPS_ATOL, rtol=0)


def test_embeddings_match_reference(case):
    name, speaker, io = case
    atol = EMBEDDING_ATOL[name]
    for wave, expected in (
        ("in.wav", "out.embedding"),
        ("in.wav_long", "out.embedding_long"),
        ("in.wav_batch", "out.embedding_batch"),
    ):
        embedding = speaker.embed(io[wave])
        assert embedding.shape == (io[wave].shape[0], 192)
        torch.testing.assert_close(embedding, io[expected], atol=atol, rtol=0)


def test_config_comes_from_the_file(case):
    name, speaker, _ = case
    config = json.loads((COMPONENTS / "redimnet_tiny.json").read_text())[
        f"model_config_{name.removeprefix('redimnet_')}"
    ]
    assert speaker.model.config.hop_length == config["hop_length"]
    assert len(speaker.model.backbone.stages) == len(config["stages_setup"])


def test_bf16_keeps_the_front_end_in_float32():
    speaker = SpeakerEncoder.from_file(COMPONENTS / "redimnet_tiny.pt", dtype=torch.bfloat16)
    io = load_file(COMPONENTS / "redimnet_tiny.safetensors")
    assert speaker.model.linear.weight.dtype == torch.bfloat16
    assert speaker.model.spec.torchfbank[2].mel_scale.fb.dtype == torch.float32
    assert_features_close(speaker.model.spec, io["in.wav"], io["int.features"])
    embedding = speaker.embed(io["in.wav"])
    assert embedding.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(embedding, io["out.embedding"]).item() > 0.99


def test_fresh_model_has_the_true_front_end_buffers():
    state = torch.load(COMPONENTS / "redimnet_tiny.pt", weights_only=True)["state_dict"]
    fresh = SpeakerEncoder.from_config().model.state_dict()
    for key in (
        "spec.torchfbank.1.flipped_filter",
        "spec.torchfbank.2.spectrogram.window",
        "spec.torchfbank.2.mel_scale.fb",
    ):
        torch.testing.assert_close(fresh[key], state[key])
    torch.testing.assert_close(htk_filterbank(16000, 512, 72, 20, 7600), state["spec.torchfbank.2.mel_scale.fb"])


def test_written_checkpoint_round_trips(tmp_path):
    torch.manual_seed(0)
    tiny = SpeakerEncoder.from_config()
    tiny.save(tmp_path / "speaker.pt")
    checkpoint = torch.load(tmp_path / "speaker.pt", weights_only=True)
    assert set(checkpoint) == {"model_config", "state_dict"}
    again = SpeakerEncoder.from_file(tmp_path / "speaker.pt")
    wave = torch.randn(1, 16000) * 0.1
    torch.testing.assert_close(again.embed(wave), tiny.embed(wave))
    assert again.fingerprint() == tiny.fingerprint()


def write(path, wave: np.ndarray, rate: int):
    soundfile.write(str(path), wave, rate, subtype="FLOAT")
    return path


def test_voice_is_mono_16k_and_at_most_30_s(tmp_path):
    t = np.arange(48000 * 31) / 48000
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.1 * np.sin(2 * np.pi * 330 * t)], axis=1)
    wave = load_voice(write(tmp_path / "long.wav", stereo.astype(np.float32), 48000))
    assert wave.shape == (30 * 16000,) and wave.dtype == torch.float32
    spectrum = np.abs(np.fft.rfft(wave[:16000].numpy()))
    assert abs(int(spectrum.argmax()) - 220) <= 1  # resampled, not sped up


def test_embedding_of_a_file_is_cached_by_content(tmp_path, case):
    _, speaker, io = case
    voice = write(tmp_path / "voice.wav", io["in.wav"][0].numpy(), 16000)
    cache = tmp_path / "cache"
    first = speaker.embed_file(voice, cache)
    torch.testing.assert_close(first, io["out.embedding"][0], atol=3e-4, rtol=0)
    (entry,) = cache.iterdir()
    torch.save(torch.full((192,), 7.0), entry)  # the cache is what is read back the second time
    assert speaker.embed_file(voice, cache).eq(7.0).all()
    copy = write(tmp_path / "copy.wav", io["in.wav"][0].numpy(), 16000)
    assert speaker.embed_file(copy, cache).eq(7.0).all()  # same content, same entry
    other = SpeakerEncoder.from_config()
    assert not other.embed_file(voice, cache).eq(7.0).all()  # another model never reuses it


def missing(folder):
    return folder / "missing.wav"


def junk(folder):
    (folder / "junk.wav").write_bytes(b"not audio at all")
    return folder / "junk.wav"


def short(folder):
    return write(folder / "short.wav", np.full(1000, 0.1, np.float32), 16000)


def silent(folder):
    return write(folder / "silent.wav", np.zeros(16000, np.float32), 16000)


@pytest.mark.parametrize(
    "make, message", [(missing, "not found"), (junk, "cannot read"), (short, "too short"), (silent, "silent")]
)
def test_a_failed_voice_raises(tmp_path, make, message):
    speaker = SpeakerEncoder.from_config()
    with pytest.raises(VoiceError, match=message):
        speaker.embed_file(make(tmp_path), tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_bad_checkpoints_are_weights_errors(tmp_path):
    with pytest.raises(WeightsError, match="no file"):
        SpeakerEncoder.from_file(tmp_path / "missing.pt")
    with pytest.raises(WeightsError, match="not a ReDimNet checkpoint"):
        SpeakerEncoder.from_file(COMPONENTS / "wan22_vae_tiny.pth")
    checkpoint = torch.load(COMPONENTS / "redimnet_tiny.pt", weights_only=True)
    checkpoint["model_config"]["C"] = 8
    torch.save(checkpoint, tmp_path / "wrong.pt")
    with pytest.raises(WeightsError, match="wrong shape"):
        SpeakerEncoder.from_file(tmp_path / "wrong.pt")
