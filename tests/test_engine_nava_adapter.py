"""The `nava` engine: the director's requests through the engine pipeline, and the CLI with it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from engine.make_tiny_weights import make_tiny_weights
from nava_director.clip import Clip
from nava_director.engines.base import ShotRequest, SpeechLine
from nava_director.engines.nava import NavaEngine
from nava_director.errors import InputError, NavaError
from tests.storyboard_helpers import ROOT, VOICES


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_tiny_weights(tmp_path_factory.mktemp("weights") / "nava")


def shot(**changes) -> ShotRequest:
    fields = {
        "shot_id": "s1",
        "caption": "黄昏的海边，陈默轻声说<S>好久不见。<E>海浪声。",
        "speech": [SpeechLine("好久不见。", "chen", "陈默", VOICES / "chen.wav")],
        "width": 64,
        "height": 32,
        "frames": 9,
        "fps": 24,
        "seed": 7,
        "steps": 1,
    }
    return ShotRequest(**{**fields, **changes})


def test_needs_weights():
    with pytest.raises(InputError, match="weights"):
        NavaEngine(weights=None)


def test_id_is_cheap_and_imports_no_torch(weights):
    code = (
        "import sys; from nava_director.engines.nava import NavaEngine; "
        f"print(NavaEngine(weights={str(weights)!r}).id); assert 'torch' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.startswith("nava-") and out.stdout.strip() == NavaEngine(weights=weights).id


def test_missing_weights_are_a_director_error(tmp_path):
    with pytest.raises(NavaError, match="missing 6 component"):
        _ = NavaEngine(weights=tmp_path).id


def test_render_gives_the_directors_clip(weights):
    engine = NavaEngine(weights=weights)
    calls = []
    steps = SimpleNamespace(step=lambda done, total, what: calls.append(what))  # a Progress: the engine calls .step
    clip = engine.render(shot(), steps)
    assert isinstance(clip, Clip)
    assert clip.frames.shape == (9, 32, 64, 3) and clip.audio.shape == (2, 18_000)
    assert clip.sample_rate == 48_000 and clip.fps == 24
    assert calls == ["denoising"]

    continued = engine.render(shot(first_frame=clip.frames[-1], guidance={"s_v": 2.0}))
    assert continued.frames.shape == clip.frames.shape
    with pytest.raises(NavaError, match="unknown guidance"):
        engine.render(shot(guidance={"cfg": 4.0}))
    assert np.array_equal(engine.render(shot()).frames, clip.frames)  # deterministic
    other = engine.render(shot(negative_prompt="模糊，低质量"))  # the UNCOND pass sees it
    assert not np.array_equal(other.frames, clip.frames)


@pytest.mark.slow
@pytest.mark.parametrize("dit", ["bf16", "fp8"])
def test_the_demo_renders_with_a_tiny_nava_engine_from_the_cli(tmp_path, dit):
    """The issue's own command: make the tiny engine in the release layout (ReDimNet in a
    temporary torch.hub cache, as the reference's torch.hub call leaves it), render
    storyboards/demo.yaml with it (two voices in one shot, a line spoken in an action, a
    continuation); once with the bf16 DiT, once with only the fp8 file in the folder."""
    shutil.copytree(ROOT / "storyboards", tmp_path / "storyboards")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVA_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "no-user-config")
    env["TORCH_HOME"] = str(tmp_path / "torch")
    weights = tmp_path / "tiny-nava"
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    made = subprocess.run([sys.executable, "-m", "engine.make_tiny_weights", str(weights), "--fp8", "--hub-dir",
                           str(hub)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (hub / "M-vb2+vox2+cnc-ft_mix.pt").is_file() and not (weights / "M-vb2+vox2+cnc-ft_mix.pt").exists()
    if dit == "fp8":
        (weights / "NAVA.safetensors").unlink()
    script = Path(sys.executable).with_name("nava-director")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from nava_director.cli import main; main()"]
    flags = ["--engine", "nava", "--weights", str(weights), "--size", "160x96", "--steps", "2", "--no-check", "--json"]
    done = subprocess.run(
        [*command, "render", str(tmp_path / "storyboards" / "demo.yaml"), *flags],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    film = json.loads(done.stdout)["film"]["path"]

    with av.open(film) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (160, 96)
        assert audio.codec_context.channels == 2 and audio.codec_context.sample_rate == 48_000
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(film) as container:
        samples = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    assert "There are modules" not in done.stderr  # no library noise in the user's terminal
    assert frames == 97 + 121 + 97 + 121 - 1  # the plan's 4k+1 frames; the continued shot starts on the seam
    assert abs(samples.shape[1] / 48_000 - frames / 24) < 0.05
    assert np.abs(samples).max() > 0.01
