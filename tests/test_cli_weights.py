"""`nava-director weights …` and the weights as `render` sees them: check, download offline,
quantize, the DiT file in the key and fixed at the first render, a broken folder stopping a run."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.storyboard_helpers import ROOT


@pytest.fixture
def weights(tiny_release, tmp_path):
    shutil.copytree(tiny_release, tmp_path / "copy")
    return tmp_path / "copy" / "W"


def nava(*args: str, cwd: Path, torch_home: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NAVA_", "HF_"))}
    clean.update(XDG_CONFIG_HOME=str(cwd / ".no-user-config"), XDG_CACHE_HOME=str(cwd / ".cache"), COLUMNS="200",
                 TORCH_HOME=str(torch_home or cwd / "torch"), **env)  # fmt: skip
    command = [sys.executable, "-c", "from nava_director.cli import main; main()"]
    return subprocess.run([*command, *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=300)


def test_check_passes_on_the_tiny_release_and_names_each_problem_in_one_line(weights, tmp_path):
    hub = weights.parent / "torch"
    done = nava("weights", "check", str(weights), "--json", cwd=tmp_path, torch_home=hub)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] and [r["component"] for r in data["rows"]][:2] == ["dit", "dit (fp8)"]
    human = nava("weights", "check", str(weights), cwd=tmp_path, torch_home=hub)
    assert human.returncode == 0 and "NAVA_fp8.safetensors" in human.stdout and "182/182" in human.stdout

    os.truncate(weights / "NAVA.safetensors", 100_000)  # truncated
    shutil.rmtree(weights / "params")  # missing
    shutil.copy(weights / "Wan2.2-TI2V-5B" / "Wan2.2_VAE.pth",
                weights / "Wan2.2-TI2V-5B" / "models_t5_umt5-xxl-enc-bf16.pth")  # another model's file  # fmt: skip
    broken = nava("weights", "check", str(weights), cwd=tmp_path, torch_home=hub)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    lines = broken.stderr.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("dit: truncated: NAVA.safetensors has 100,000 bytes, its header says ")
    assert lines[1].startswith("text_encoder: another model's file: it lacks token_embedding.weight")
    assert lines[2].startswith("audio_vae: missing (") and "nava-director weights download" in lines[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_without_the_hub_is_one_line_and_exit_2(tmp_path):
    port = _closed_port()
    done = nava("weights", "download", str(tmp_path / "W"), cwd=tmp_path, HF_ENDPOINT=f"http://127.0.0.1:{port}")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and f"127.0.0.1:{port}" in error[0] and "is not reachable" in error[0]
    assert not (tmp_path / "torch").exists()  # nothing written to torch.hub's cache


def test_quantize_writes_an_fp8_file_that_checks_and_renders_choice(weights, tmp_path):
    (weights / "NAVA_fp8.safetensors").unlink()
    out = weights / "NAVA_fp8.safetensors"
    done = nava("weights", "quantize", str(weights / "NAVA.safetensors"), str(out), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["quantized_linears"] == 56
    checked = nava("weights", "check", str(weights), "--dit", "fp8", "--json", cwd=tmp_path,
                   torch_home=weights.parent / "torch")  # fmt: skip
    assert checked.returncode == 0 and json.loads(checked.stdout)["rows"][0]["path"].endswith("NAVA_fp8.safetensors")
    missing = nava("weights", "quantize", str(tmp_path / "nope.safetensors"), str(out), cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")


def test_the_dit_file_and_tiling_are_in_the_key_offload_is_not(weights, monkeypatch):
    from nava_director.engines.nava import NavaEngine

    monkeypatch.setenv("TORCH_HOME", str(weights.parent / "torch"))
    ids = {
        (dit, offload, tiled): NavaEngine(weights, dit=dit, offload=offload, vae_tiling=tiled).id
        for dit in ("bf16", "fp8") for offload in ("none", "blocks") for tiled in (False, True)
    }  # fmt: skip
    assert ids[("bf16", "none", False)] == ids[("bf16", "blocks", False)]  # offload never changes a clip
    assert len(set(ids.values())) == 4  # DiT file x tiling
    assert ids[("fp8", "none", True)].endswith("-fp8-tiled")
    assert NavaEngine(weights).id == ids[("bf16", "none", False)]  # auto without a GPU: bf16


def test_auto_is_fixed_at_the_first_render_and_recorded(weights, tmp_path, monkeypatch):
    from nava_director.project.manifest import Manifest
    from nava_director.render.shape import shape_of, with_fixed_dit
    from nava_director.session import ProjectArgs, open_project

    monkeypatch.setenv("TORCH_HOME", str(weights.parent / "torch"))
    shutil.copytree(ROOT / "storyboards", tmp_path / "sb")
    args = ProjectArgs(tmp_path / "sb" / "demo.yaml", engine="nava", weights=weights)
    session = open_project(args, env={}, user_config=tmp_path / "none.toml")
    manifest = Manifest()
    fixed = with_fixed_dit(session, manifest)
    assert manifest.dit == "bf16" and fixed.settings.dit == "bf16"  # resolved (no GPU here) and recorded
    manifest.dit = "fp8"  # as if the first render ran on a 24 GB card
    assert with_fixed_dit(session, manifest).settings.dit == "fp8"  # kept, whatever this machine has
    assert shape_of(session, last=manifest).engine.endswith("-fp8")  # `takes` sees the keys render made
    asked = open_project(ProjectArgs(args.storyboard, engine="nava", weights=weights, dit="bf16"), env={},
                         user_config=tmp_path / "none.toml")  # fmt: skip
    assert with_fixed_dit(asked, manifest).settings.dit == "bf16" and manifest.dit == "bf16"  # --dit wins


def test_render_with_broken_weights_stops_before_the_first_shot_with_one_error(weights, tmp_path):
    shutil.copytree(ROOT / "storyboards", tmp_path / "sb")
    os.truncate(weights / "NAVA.safetensors", 100_000)
    done = nava("render", str(tmp_path / "sb" / "demo.yaml"), "--engine", "nava", "--weights", str(weights),
                "--size", "160x96", "--steps", "1", cwd=tmp_path, torch_home=weights.parent / "torch")  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"error: the weights in {weights} cannot render:" in done.stderr
    assert "dit: truncated: NAVA.safetensors has 100,000 bytes" in done.stderr
    assert f"hint: nava-director weights check {weights}" in done.stderr
    assert not list((tmp_path / "sb" / "demo.nava").glob("shots/*/take-*"))  # no shot rendered, none failed alone


def test_plan_shows_the_dit_file_the_check_and_each_shots_memory(weights, tmp_path):
    shutil.copytree(ROOT / "storyboards", tmp_path / "sb")
    done = nava("plan", str(tmp_path / "sb" / "demo.yaml"), "--engine", "nava", "--weights", str(weights), "--dit",
                "fp8", "--json", cwd=tmp_path, torch_home=weights.parent / "torch")  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["weights"]
    assert plan["dit_file"].endswith("NAVA_fp8.safetensors") and plan["why"] == "--dit fp8" and plan["check_ok"]
    assert plan["offload"] == "none"  # auto without a GPU
    assert set(plan["peak_gb"]) == {"arrival", "reunion", "answer", "together"}
    assert plan["peak_gb"]["reunion"] > plan["peak_gb"]["arrival"]  # 5 s against 4 s
    human = nava("plan", str(tmp_path / "sb" / "demo.yaml"), "--engine", "nava", "--weights", str(weights),
                 cwd=tmp_path, torch_home=weights.parent / "torch")  # fmt: skip
    assert "weights: NAVA.safetensors (bf16) — no GPU: the CPU computes in bf16 either way; check: ok" in human.stdout


def test_the_weights_settings_are_checked_where_they_are_set(tmp_path):
    from nava_director.errors import InputError
    from nava_director.settings import load_settings

    (tmp_path / "sb.yaml").write_text("")
    (tmp_path / "nava.toml").write_text('dit = "fp8"\noffload = "blocks"\nvae_tiling = true\n')
    s = load_settings(tmp_path / "sb.yaml", {"offload": "none"}, env={}, user_config=tmp_path / "none.toml")
    assert (s.dit, s.offload, s.vae_tiling, s.weights_repo) == ("fp8", "none", True, "ernie-research/NAVA")
    assert s.source("offload") == "flag" and s.source("dit") == str(tmp_path / "nava.toml")
    (tmp_path / "nava.toml").write_text('dit = "int4"\n')
    with pytest.raises(InputError, match="dit 'int4' is not one of auto, bf16, fp8"):
        load_settings(tmp_path / "sb.yaml", env={}, user_config=tmp_path / "none.toml")


def test_the_check_runs_once_per_fingerprint(weights, tmp_path, monkeypatch):
    import engine.weights_check
    from nava_director.engines.nava import NavaEngine

    monkeypatch.setenv("TORCH_HOME", str(weights.parent / "torch"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []
    real = engine.weights_check.check
    monkeypatch.setattr(engine.weights_check, "check", lambda *a, **k: calls.append(a) or real(*a, **k))
    NavaEngine(weights).check_weights()
    NavaEngine(weights).check_weights()  # another run, same files: the marker says it passed
    assert len(calls) == 1
    with (weights / "NAVA.safetensors").open("r+b") as f:  # a changed weight: a new fingerprint, checked again
        f.seek(100_000)  # past the header, within the fingerprint's first MiB
        f.write(b"\x00\x01")
    NavaEngine(weights).check_weights()
    assert len(calls) == 2
