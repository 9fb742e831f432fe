"""Finding the released component files in a weights folder."""

from __future__ import annotations

from pathlib import Path

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


def _release(folder, *, fp8=False, bf16=True, speaker_in_folder=False):
    """Empty files in the release layout (names only)."""
    wan = folder / "Wan2.2-TI2V-5B"
    (wan / "google" / "umt5-xxl").mkdir(parents=True)
    (wan / "Wan2.2_VAE.pth").write_bytes(b"")
    (wan / "models_t5_umt5-xxl-enc-bf16.pth").write_bytes(b"")
    (folder / "params" / "LTX2").mkdir(parents=True)
    (folder / "params" / "LTX2" / "ltx-2.3-22b-dev_audio_vae.safetensors").write_bytes(b"")
    if bf16:
        (folder / "NAVA.safetensors").write_bytes(b"")
    if fp8:
        (folder / "NAVA_fp8.safetensors").write_bytes(b"")
    if speaker_in_folder:
        (folder / "M-vb2+vox2+cnc-ft_mix.pt").write_bytes(b"")
    return folder


def test_the_release_layout_with_the_speaker_model_in_torch_hubs_cache(tmp_path, monkeypatch):
    weights = _release(tmp_path / "W", fp8=True)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError) as caught:
        locate(weights)
    assert "missing 1 component(s)" in str(caught.value)
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in str(caught.value)  # where it looked
    assert "nava-director weights download" in caught.value.hint
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "M-vb2+vox2+cnc-ft_mix.pt").write_bytes(b"")
    files = locate(weights)
    assert files.audio_vae == weights / "params" / "LTX2" / "ltx-2.3-22b-dev_audio_vae.safetensors"
    assert files.speaker == hub / "M-vb2+vox2+cnc-ft_mix.pt"
    assert (files.dit.name, files.dit_format) == ("NAVA.safetensors", "bf16")  # no GPU: bf16
    (weights / "M-vb2+vox2+cnc-ft_mix.pt").write_bytes(b"")
    assert locate(weights).speaker == weights / "M-vb2+vox2+cnc-ft_mix.pt"  # the folder first


def test_the_dit_file_is_chosen_by_request_and_gpu_memory(tmp_path):
    both = _release(tmp_path / "both", fp8=True, speaker_in_folder=True)
    assert locate(both, gpu_memory=24 * 2**30).dit.name == "NAVA_fp8.safetensors"
    assert locate(both, gpu_memory=80 * 2**30).dit.name == "NAVA.safetensors"
    chosen = locate(both, dit="fp8", gpu_memory=80 * 2**30)
    assert (chosen.dit.name, chosen.dit_format, chosen.dit_why) == ("NAVA_fp8.safetensors", "fp8", "--dit fp8")
    only_fp8 = _release(tmp_path / "fp8", fp8=True, bf16=False, speaker_in_folder=True)
    files = locate(only_fp8, gpu_memory=80 * 2**30)
    assert files.dit_format == "fp8" and "the only DiT file" in files.dit_why
    with pytest.raises(WeightsError, match="--dit bf16: no NAVA.safetensors or NAVA.ckpt") as caught:
        locate(only_fp8, dit="bf16")
    assert "weights download" in caught.value.hint
    with pytest.raises(WeightsError, match="unknown DiT choice"):
        locate(both, dit="int4")


def test_choose_dit_is_a_pure_function_of_files_request_and_memory(tmp_path):
    from engine.dit_choice import BF16_MIN_GPU_BYTES, choose_dit

    present = {"bf16": tmp_path / "NAVA.safetensors", "fp8": tmp_path / "NAVA_fp8.safetensors"}
    assert choose_dit(present, "auto", BF16_MIN_GPU_BYTES).format == "bf16"
    assert choose_dit(present, "auto", BF16_MIN_GPU_BYTES - 1).format == "fp8"
    assert choose_dit(present, "auto", None).format == "bf16"
    assert choose_dit({"fp8": present["fp8"]}, "auto", None).format == "fp8"
    assert choose_dit(present, "bf16", 1).format == "bf16"


def test_hub_checkpoints_follows_torch_hubs_rules(monkeypatch, tmp_path):
    from engine.component_files import hub_checkpoints

    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert hub_checkpoints() == tmp_path / ".cache" / "torch" / "hub" / "checkpoints"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub_checkpoints() == tmp_path / "xdg" / "torch" / "hub" / "checkpoints"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert hub_checkpoints() == tmp_path / "th" / "hub" / "checkpoints"
    import torch.hub

    assert hub_checkpoints() == Path(torch.hub.get_dir()) / "checkpoints"  # where load_state_dict_from_url writes


def test_resolving_the_dit_imports_torch_only_when_the_choice_needs_the_gpu(tmp_path):
    import subprocess
    import sys

    both = _release(tmp_path / "both", fp8=True, speaker_in_folder=True)
    only = _release(tmp_path / "only", fp8=True, bf16=False, speaker_in_folder=True)
    code = ("import sys; from engine.pipeline import resolve_dit; c = resolve_dit(sys.argv[1], sys.argv[2]);"
            "print(c.format, 'torch' in sys.modules)")  # fmt: skip
    root = Path(__file__).resolve().parents[1]

    def run(folder, wanted):
        done = subprocess.run([sys.executable, "-c", code, str(folder), wanted], capture_output=True, text=True,
                              cwd=root, check=True)  # fmt: skip
        return done.stdout.split()

    assert run(only, "auto") == ["fp8", "False"]
    assert run(both, "fp8") == ["fp8", "False"]
    assert run(both, "auto") == ["bf16", "True"]  # asks the GPU (none here: bf16)
