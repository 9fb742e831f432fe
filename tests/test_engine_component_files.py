"""Finding the released component files in a weights folder."""

from __future__ import annotations

import pytest

from engine.component_files import COMPONENTS, locate
from engine.errors import WeightsError


def test_every_missing_file_is_named_in_one_error(tmp_path):
    (tmp_path / "NAVA.safetensors").write_bytes(b"")
    with pytest.raises(WeightsError) as caught:
        locate(tmp_path)
    message = str(caught.value)
    assert "missing 5 component(s)" in message
    for name in ("Wan2.2_VAE.pth", "models_t5_umt5-xxl-enc-bf16.pth", "google/umt5-xxl",
                 "ltx-2.3-22b-dev_audio_vae.safetensors", "M-vb2+vox2+cnc-ft_mix.pt"):  # fmt: skip
        assert name in message
    assert "NAVA.safetensors" not in message
    assert str(tmp_path / "Wan2.2-TI2V-5B") in message  # where it looked


def test_released_layout_and_alternatives_are_found(tmp_path):
    wan = tmp_path / "Wan2.2-TI2V-5B"
    (wan / "google" / "umt5-xxl").mkdir(parents=True)
    (wan / "Wan2.2_VAE.pth").write_bytes(b"")
    (wan / "models_t5_umt5-xxl-enc-bf16.pth").write_bytes(b"")
    (tmp_path / "LTX2").mkdir()
    (tmp_path / "LTX2" / "ltx-2.3-22b-dev_audio_vae.safetensors").write_bytes(b"")
    (tmp_path / "NAVA.ckpt").write_bytes(b"")
    (tmp_path / "M-vb2+vox2+cnc-ft_mix.pt").write_bytes(b"")

    files = locate(tmp_path)
    assert files.dit == tmp_path / "NAVA.ckpt"
    assert files.video_vae == wan / "Wan2.2_VAE.pth"
    assert files.tokenizer == wan / "google" / "umt5-xxl"
    assert files.audio_vae.parent.name == "LTX2"
    assert len(files.all()) == len(COMPONENTS)


def test_components_yaml_names_files(tmp_path):
    for name in ("a.safetensors", "b.pth", "c.pth", "e.safetensors", "f.pt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "tok").mkdir()
    (tmp_path / "components.yaml").write_text(
        "dit: a.safetensors\nvideo_vae: b.pth\ntext_encoder: c.pth\ntokenizer: tok\n"
        "audio_vae: e.safetensors\nspeaker: f.pt\n"
    )
    files = locate(tmp_path)
    assert files.dit == tmp_path / "a.safetensors" and files.speaker == tmp_path / "f.pt"

    (tmp_path / "components.yaml").write_text("dit: nowhere.safetensors\n")
    with pytest.raises(WeightsError, match="nowhere.safetensors"):
        locate(tmp_path)
    (tmp_path / "components.yaml").write_text("ditt: a.safetensors\n")
    with pytest.raises(WeightsError, match="must map component names"):
        locate(tmp_path)


def test_fingerprint_follows_names_sizes_and_headers(tmp_path):
    from engine.component_files import ComponentFiles, fingerprint

    paths = {}
    for c in COMPONENTS:
        paths[c.key] = tmp_path / f"{c.key}.bin"
        paths[c.key].write_bytes(b"x" * 10)
    files = ComponentFiles(**paths)
    first = fingerprint(files)
    assert first == fingerprint(files) and len(first) == 16
    paths["dit"].write_bytes(b"y" * 10)
    assert fingerprint(files) != first
