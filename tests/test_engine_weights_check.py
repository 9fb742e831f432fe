"""The weights check: headers only, one row per component, each problem with its fix."""

from __future__ import annotations

import os
import pickle
import shutil
import zipfile

import pytest

from engine.weights_check import check


@pytest.fixture
def weights(tiny_release, tmp_path, monkeypatch):
    """A copy of the tiny release (conftest) to break, with TORCH_HOME pointing at its hub cache."""
    shutil.copytree(tiny_release, tmp_path / "copy")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "copy" / "torch"))
    return tmp_path / "copy" / "W"


def test_the_tiny_release_passes_with_both_dit_files(weights):
    report = check(weights)
    assert report.ok, report.problems()
    rows = {row.component: row for row in report.rows}
    assert list(rows) == ["dit", "dit (fp8)", "video_vae", "text_encoder", "tokenizer", "audio_vae", "speaker"]
    assert rows["dit"].path.endswith("NAVA.safetensors") and rows["dit"].chosen  # no GPU: bf16
    assert rows["dit"].tensors == rows["dit"].expected == 182
    fp8 = rows["dit (fp8)"]
    assert (fp8.tensors, fp8.expected, fp8.dtype) == (238, 238, "BF16 182, F8_E4M3 56") and not fp8.chosen
    assert rows["speaker"].path.startswith(str(weights.parent / "torch" / "hub" / "checkpoints"))
    assert rows["video_vae"].format == "torch zip" and rows["audio_vae"].format == "safetensors"
    assert all(row.fingerprint and row.size for row in report.rows)
    assert check(weights, dit="fp8", gpu_memory=24 << 30).rows[0].component == "dit"  # the fp8 file, chosen
    (weights / "NAVA.safetensors").unlink()
    only_fp8 = check(weights)
    assert only_fp8.ok and only_fp8.rows[0].path.endswith("NAVA_fp8.safetensors")


def test_a_truncated_file_names_expected_and_actual_bytes(weights):
    path = weights / "NAVA.safetensors"
    size = path.stat().st_size
    os.truncate(path, size - 1000)
    report = check(weights)
    [line] = report.problems()
    assert line.startswith("dit: truncated: NAVA.safetensors has") and f"{size - 1000:,}" in line
    assert f"its header says {size:,}" in line and "download it again" in line
    os.truncate(weights / "Wan2.2-TI2V-5B" / "Wan2.2_VAE.pth", 5000)
    [_, vae] = check(weights).problems()
    assert vae.startswith("video_vae:") and "truncated" in vae


def test_a_missing_component_says_where_it_was_looked_for_and_how_to_get_it(weights):
    shutil.rmtree(weights / "params")
    (weights.parent / "torch" / "hub" / "checkpoints" / "M-vb2+vox2+cnc-ft_mix.pt").unlink()
    report = check(weights)
    problems = report.problems()
    assert len(problems) == 2 and not report.ok
    audio = next(row for row in report.rows if row.component == "audio_vae")
    assert str(weights / "params" / "LTX2") in audio.looked_in
    assert "nava-director weights download" in audio.fix
    assert "hub" in problems[1] and "ReDimNet" in problems[1]


def test_another_models_file_names_the_keys_that_differ(weights):
    shutil.copy(weights / "params" / "LTX2" / "ltx-2.3-22b-dev_audio_vae.safetensors", weights / "NAVA.safetensors")
    [line] = check(weights).problems()
    assert line.startswith("dit: another model's file (1052 missing: ")  # the released model's keys
    assert "double_blocks.0.cross_attn.k.bias" in line and "1329 unexpected: audio_vae." in line
    shutil.copy(weights / "Wan2.2-TI2V-5B" / "Wan2.2_VAE.pth",
                weights / "Wan2.2-TI2V-5B" / "models_t5_umt5-xxl-enc-bf16.pth")  # fmt: skip
    lines = check(weights).problems()
    assert lines[1].startswith("text_encoder: another model's file: it lacks token_embedding.weight")


class Boom:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/tmp/nava-weights-check-must-not-exist"


def test_a_pickle_that_is_not_weights_only_is_refused_and_never_run(weights):
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    path = weights / "Wan2.2-TI2V-5B" / "Wan2.2_VAE.pth"
    with zipfile.ZipFile(path, "w") as archive:  # torch's zip layout, a payload in data.pkl
        archive.writestr("archive/data.pkl", pickle.dumps({"encoder.conv1.weight": Boom()}, protocol=2))
    report = check(weights)
    [line] = report.problems()
    assert line.startswith("video_vae: refused: ") and "posix.system" in line and "not unpickled" in line
    assert not os.path.exists(MARKER)


def test_an_fp8_file_without_its_scales_is_named(weights):
    from safetensors.torch import load_file, save_file

    path = weights / "NAVA_fp8.safetensors"
    state = {k: v for k, v in load_file(path).items() if not k.endswith("_scale")}
    save_file(state, path, metadata={"config": __import__("safetensors").safe_open(
        weights / "NAVA.safetensors", "pt").metadata()["config"]})  # fmt: skip
    [line] = check(weights).problems()
    assert line.startswith("dit (fp8): an fp8 file without its scales (56 missing: ")


def test_a_full_size_dit_is_checked_from_its_header_in_seconds(weights):
    """A 12.6 GB NAVA.safetensors (sparse: its header, then holes) with the released keys."""
    import time

    import torch

    from bench.load import file_size, model_shapes, safetensors_header
    from engine.config import ModelConfig

    shapes = model_shapes(ModelConfig.preset("nava-6.3b"))
    path = weights / "NAVA.safetensors"
    with path.open("wb") as f:
        f.write(safetensors_header(shapes, torch.bfloat16))
    os.truncate(path, file_size(shapes, torch.bfloat16))
    (weights / "NAVA_fp8.safetensors").unlink()
    started = time.perf_counter()
    report = check(weights)
    elapsed = time.perf_counter() - started
    row = report.rows[0]
    assert report.ok and (row.tensors, row.expected, row.dtype) == (1052, 1052, "BF16")
    assert row.size > 12.5e9 and elapsed < 10
