from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"
COMPONENTS = SHARED_FIXTURES / "components"


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    assert SHARED_FIXTURES.is_dir(), f"the shared fixtures are missing: {SHARED_FIXTURES}"
    return SHARED_FIXTURES


@pytest.fixture(scope="session")
def tiny_release(tmp_path_factory) -> Path:
    """The tiny engine in the release layout (``W/``), both DiT files, ReDimNet in a torch.hub
    cache (``torch/hub/checkpoints``); made once: tests copy it before they change it."""
    from engine.make_tiny_weights import make_tiny_weights

    root = tmp_path_factory.mktemp("release")
    make_tiny_weights(root / "W", fp8=True, hub_dir=root / "torch" / "hub" / "checkpoints")
    return root


# -- one vLLM server with the tiny Qwen3 for the whole session (captions and `write`) --------

VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    if not VLLM_PYTHON.is_file():
        message = f"vLLM's venv is missing ({VLLM_PYTHON}): run scripts/setup_vllm.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return VLLM_PYTHON


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    from tiny_qwen3 import make_tiny_qwen3

    return str(make_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3")))


@pytest.fixture(scope="session")
def tiny_vllm(tiny_model, vllm_python):
    """A real vLLM server for the tiny Qwen3 (``tests/tiny_qwen3.py``), started once: ~40 s."""
    from nava_director.captions.server import VllmServer

    server = VllmServer(tiny_model, vllm_python, max_model_len=4096, env={"VLLM_CPU_KVCACHE_SPACE": "1"})
    with server:
        print(f"vLLM server answered after {server.startup_s:.0f} s")
        yield server


def pytest_collection_modifyitems(items):
    """The tests on the shared vLLM server run last, one after another: the server starts once,
    late, and is not held through the rest of the suite."""
    items.sort(key=lambda item: "tiny_vllm" in getattr(item, "fixturenames", ()))
