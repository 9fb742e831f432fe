"""RoPE tables and rotations against the reference numbers (nava_rope_parity.*)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from engine.model.layout import TokenLayout
from engine.model.rope import apply_rope, audio_rope, axis_dims, joint_rope, rotary_table, video_rope
from tests.conftest import SHARED_FIXTURES

SCALE = 0.24


@pytest.fixture(scope="module")
def rope_case():
    meta = json.loads((SHARED_FIXTURES / "nava_rope_parity.json").read_text())
    return meta["case"], load_file(SHARED_FIXTURES / "nava_rope_parity.safetensors")


def _complex(ref: dict, name: str) -> torch.Tensor:
    return torch.complex(ref[f"{name}.real"], ref[f"{name}.imag"])


@pytest.mark.parametrize("head_dim", [128, 32])
def test_tables(rope_case, head_dim):
    _, ref = rope_case
    dt, dh, dw = axis_dims(head_dim)
    video = torch.cat([rotary_table(16, dt), rotary_table(16, dh), rotary_table(16, dw)], dim=1)
    torch.testing.assert_close(video, _complex(ref, f"d{head_dim}.freqs_vid"), rtol=0, atol=1e-12)
    audio = rotary_table(16, dt, SCALE)
    torch.testing.assert_close(audio, _complex(ref, f"d{head_dim}.freqs_audio"), rtol=0, atol=1e-12)
    assert audio_rope(16, head_dim, SCALE)[:, audio.shape[1] :].eq(1).all()


@pytest.mark.parametrize("head_dim", [128, 32])
def test_rotations(rope_case, head_dim):
    case, ref = rope_case
    grid, audio_len = tuple(case["video_grid_FHW_after_patchify"]), case["audio_len"]
    q = ref[f"d{head_dim}.q"]
    video_len = grid[0] * grid[1] * grid[2]
    tables = {
        "vid_rope": (q[:, :video_len], video_rope(grid, head_dim)),
        "audio_rope": (q[:, video_len:], audio_rope(audio_len, head_dim, SCALE)),
        "joint_rope": (q, joint_rope(TokenLayout(grid, audio_len), head_dim, SCALE)),
    }
    for name, (x, table) in tables.items():
        exact = ref[f"d{head_dim}.{name}.f64"]
        torch.testing.assert_close(apply_rope(x.double(), table), exact, rtol=0, atol=1e-12)
        rounded = apply_rope(x.bfloat16(), table)
        assert rounded.dtype == torch.bfloat16
        assert torch.equal(rounded.float(), ref[f"d{head_dim}.{name}.bf16"]), name


def test_audio_passes_unrotated_pairs_through(rope_case):
    _, ref = rope_case
    q = ref["d128.q"][:, :9]
    out = apply_rope(q, audio_rope(9, 128, SCALE))
    assert torch.equal(out[..., 44:], q[..., 44:])
    assert torch.equal(out[:, 0], q[:, 0])  # position 0 is the identity
