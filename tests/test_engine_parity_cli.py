"""``python -m engine.parity``: the real process, its output lines and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.conftest import ROOT, SHARED_FIXTURES

pytestmark = pytest.mark.slow  # each test starts the real process (torch import, both runs)

FIXTURE = SHARED_FIXTURES / "nava_tiny_parity.safetensors"


def parity(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.parity", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_fixture_passes_every_mode():
    run = parity(FIXTURE)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    modes = json.loads(FIXTURE.with_suffix(".json").read_text())["modes"]
    assert lines[-1] == f"{len(modes)}/{len(modes)} modes within tolerance"
    for mode, line in zip(modes, lines):
        name, max_abs, rel, status = line.split()
        assert name == mode and status == "ok"
        assert float(max_abs.removeprefix("max_abs=")) < 1e-4
        assert float(rel.removeprefix("rel_l2_bf16=")) < 3e-2


def test_perturbed_reference_fails(tmp_path):
    tensors = load_file(FIXTURE)
    tensors["out.cond_nospk.audio"] = tensors["out.cond_nospk.audio"] + 1e-3 * torch.ones(())
    copy = tmp_path / "nava_perturbed.safetensors"
    save_file(tensors, copy)
    copy.with_suffix(".json").write_text(FIXTURE.with_suffix(".json").read_text())
    run = parity(copy)
    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    assert lines[-1] == "7/8 modes within tolerance"
    assert next(line for line in lines if line.startswith("cond_nospk ")).endswith("FAIL")


def test_a_fixture_with_other_mode_names_is_read_from_its_descriptions(tmp_path):
    """Modes are called as the json describes them, whatever their names; a bf16 output that
    moved fails the bf16 column; a mode without stored outputs is said, not guessed."""
    meta = json.loads(FIXTURE.with_suffix(".json").read_text())
    renamed = {"mmask_spk": "masked_with_voice", "video_only": "picture_alone"}
    meta["modes"] = {renamed.get(k, k): v for k, v in meta["modes"].items()}
    meta["modes"]["undocumented"] = "spk_embed=None, masking_modality=True."
    tensors = {}
    for key, value in load_file(FIXTURE).items():
        for old, new in renamed.items():
            key = key.replace(f".{old}.", f".{new}.")
        tensors[key] = value
    tensors["out_bf16.cond_nullspk.video"] = tensors["out_bf16.cond_nullspk.video"] * 1.5
    copy = tmp_path / "renamed.safetensors"
    save_file(tensors, copy)
    copy.with_suffix(".json").write_text(json.dumps(meta))
    run = parity(copy)
    lines = dict(line.split(" ", 1) for line in run.stdout.strip().splitlines()[:-1])
    assert run.returncode == 1 and run.stdout.strip().splitlines()[-1] == "7/9 modes within tolerance"
    assert lines["masked_with_voice"].endswith(" ok") and lines["picture_alone"].endswith(" ok")
    assert lines["cond_nullspk"].endswith("FAIL") and "max_abs=" in lines["cond_nullspk"]
    assert "no out.undocumented" in lines["undocumented"]


def test_params_key_map():
    run = parity("--params", SHARED_FIXTURES / "nava_6b_params.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().splitlines()[-1] == "1052/1052 keys match, 6296995520 parameters"


def test_params_difference_exits_non_zero(tmp_path):
    reference = json.loads((SHARED_FIXTURES / "nava_6b_params.json").read_text())
    reference["params"]["head.head.weight"] = [191, 3072]
    del reference["params"]["head.head.bias"]
    path = tmp_path / "params.json"
    path.write_text(json.dumps(reference))
    run = parity("--params", path)
    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    assert "unexpected head.head.bias [192]" in lines
    assert "shape head.head.weight: ours [192, 3072], reference [191, 3072]" in lines
    assert lines[-1] == "1050/1051 keys match, 6296995520 parameters"
