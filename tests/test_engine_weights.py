"""Loading DiT checkpoints: both file formats, the backbone. prefix, dtype, strict key report, bad files."""

from __future__ import annotations

import weakref
from collections.abc import Mapping

import pytest
import torch
from safetensors.torch import save_file

from engine.config import ModelConfig
from engine.errors import WeightsError
from engine.model import WanAVModel
from engine.parity import FP32_ATOL, ParityFixture
from engine.weights import CheckpointFile, fp32_parameters, load_state, load_wan_av
from tests.conftest import SHARED_FIXTURES


@pytest.fixture(scope="module")
def fixture() -> ParityFixture:
    return ParityFixture(SHARED_FIXTURES / "nava_tiny_parity.safetensors")


@pytest.fixture(scope="module")
def released(fixture) -> dict[str, torch.Tensor]:
    """The fixture's weights keyed as the released checkpoint is (``backbone.`` + model key)."""
    return {f"backbone.{k.removeprefix('model.')}": v for k, v in fixture.tensors.items() if k.startswith("model.")}


def write(tmp_path, name: str, state: dict[str, torch.Tensor]):
    path = tmp_path / name
    if path.suffix == ".safetensors":
        save_file(state, path)
    else:
        torch.save({"state_dict": state, "epoch": 3}, path)
    return path


@pytest.mark.parametrize("name", ["NAVA.safetensors", "NAVA.ckpt"])
def test_released_layout_loads_and_reproduces_the_reference(tmp_path, fixture, released, name):
    model = load_wan_av(write(tmp_path, name, released), fixture.config, dtype=torch.float32)
    assert not model.training
    assert not any(p.is_meta for p in model.parameters())
    outputs = fixture.outputs(fixture.run(model, "cond_spk"))
    for key, got in outputs.items():
        torch.testing.assert_close(got, fixture.tensors[f"out.cond_spk.{key}"], rtol=0, atol=FP32_ATOL)


def test_unprefixed_pt_loads(tmp_path, fixture, released):
    state = {k.removeprefix("backbone."): v for k, v in released.items()}
    model = load_wan_av(write(tmp_path, "fusion.pt", state), "tiny", dtype=torch.float32)
    assert torch.equal(model.head.head.weight, fixture.tensors["model.head.head.weight"])


def test_bf16_load_casts_all_but_layernorm_affines(tmp_path, released):
    model = load_wan_av(write(tmp_path, "NAVA.safetensors", released), "tiny", dtype=torch.bfloat16)
    keep = fp32_parameters(model)
    assert "double_blocks.0.norm3.weight" in keep and "speaker_embedding.out_norm.bias" in keep
    assert all(p.dtype == (torch.float32 if n in keep else torch.bfloat16) for n, p in model.named_parameters())
    assert model.dtype == torch.bfloat16


def test_key_report_names_missing_unexpected_and_mis_shaped(tmp_path, released):
    state = dict(released)
    del state["backbone.head.head.bias"]
    state["backbone.head.extra"] = torch.zeros(3)
    state["backbone.text_embedding.0.weight"] = torch.zeros(64, 31)
    path = write(tmp_path, "NAVA.safetensors", state)
    with pytest.raises(WeightsError) as caught:
        load_wan_av(path, "tiny", dtype=torch.float32)
    message = str(caught.value)
    assert str(path) in message
    assert "1 missing key(s):\n    head.head.bias" in message
    assert "1 unexpected key(s):\n    head.extra" in message
    assert "text_embedding.0.weight: expected [64, 32], found [64, 31]" in message


def test_wrong_model_is_reported_not_loaded(tmp_path, released):
    path = write(tmp_path, "NAVA.safetensors", released)
    expected = r"(?s)mis-shaped key\(s\).*patch_embedding.weight: expected \[3072, 48, 1, 2, 2\]"
    with pytest.raises(WeightsError, match=expected):
        load_wan_av(path, "nava-6.3b")


@pytest.mark.parametrize("name", ["NAVA.safetensors", "NAVA.ckpt"])
def test_truncated_file_names_the_file(tmp_path, released, name):
    path = write(tmp_path, name, released)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError, match=str(path)):
        CheckpointFile(path)


@pytest.mark.parametrize("name", ["NAVA.safetensors", "NAVA.ckpt"])
def test_a_key_with_and_without_the_prefix_is_refused(tmp_path, released, name):
    key = next(iter(released))
    path = write(tmp_path, name, {**released, key.removeprefix("backbone."): released[key].clone()})
    with pytest.raises(WeightsError, match="which one is meant"):
        CheckpointFile(path)


def test_missing_file_and_non_checkpoint(tmp_path):
    with pytest.raises(WeightsError, match="no file at"):
        CheckpointFile(tmp_path / "absent.safetensors")
    path = tmp_path / "notes.pt"
    torch.save(["not", "a", "state dict"], path)
    with pytest.raises(WeightsError, match="holds no state dict"):
        CheckpointFile(path)


class ReadTracker(Mapping):
    """A state that hands out fresh fp32 tensors (as a file read does) and counts how many stay alive."""

    def __init__(self, state: dict[str, torch.Tensor]):
        self.state, self.alive, self.peak = state, weakref.WeakSet(), 0

    def __getitem__(self, key: str) -> torch.Tensor:
        tensor = self.state[key].clone()
        self.alive.add(tensor)
        self.peak = max(self.peak, len(self.alive))
        return tensor

    def __iter__(self):
        return iter(self.state)

    def __len__(self) -> int:
        return len(self.state)


def test_loading_holds_one_source_tensor_at_a_time(released):
    state = {k.removeprefix("backbone."): v for k, v in released.items()}
    tracker = ReadTracker(state)
    with torch.device("meta"):
        model = WanAVModel(ModelConfig.preset("tiny"))
    load_state(model, tracker, dtype=torch.bfloat16, shapes={k: tuple(v.shape) for k, v in state.items()})
    kept = len(fp32_parameters(model))  # LayerNorm affines stay fp32: those reads become the parameters
    assert tracker.peak <= kept + 2  # every other fp32 read is freed as soon as it is cast
    assert torch.equal(model.head.head.weight.float(), state["head.head.weight"])
