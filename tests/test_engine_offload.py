"""Block offload on the CPU: what is resident at every moment, and the output bit for bit."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from engine.config import ModelConfig
from engine.model import SpeakerSlots, WanAVModel
from engine.offload import BlockOffload, offload_blocks

CONFIG = dataclasses.replace(ModelConfig.preset("tiny"), num_double_layers=3, num_single_layers=4)


def _inputs():
    g = torch.Generator().manual_seed(2)
    c = CONFIG
    video = torch.randn(2, c.vid_in_dim, 3, 4, 4, generator=g)
    audio = torch.randn(2, 10, c.audio_in_dim, generator=g)
    context = torch.randn(2, 12, c.text_dim, generator=g)
    t = torch.tensor([700, 300])
    speaker = SpeakerSlots(torch.randn(2, 1, 192, generator=g), torch.tensor([[3], [-1]]))
    return video, audio, t, t, context, speaker, torch.tensor([False, True])


@pytest.mark.parametrize("group_size", [1, 2, 3])
def test_offloaded_blocks_give_the_same_output_with_at_most_one_group_in_flight(tmp_path, group_size):
    torch.manual_seed(0)
    model = WanAVModel(CONFIG).eval()
    with torch.no_grad():
        want = model(*_inputs())
    blocks = [*model.double_blocks, *model.single_blocks]
    block_params = [p for b in blocks for p in b.parameters()]
    total = sum(p.numel() for p in block_params)
    biggest_group = max(sum(p.numel() for b in blocks[i : i + group_size] for p in b.parameters())
                        for i in range(0, len(blocks), group_size))  # fmt: skip

    offload = offload_blocks(model, "cpu", group_size=group_size, store="disk", folder=tmp_path)
    resident_at = []

    def count(module, args, output=None):
        resident_at.append(sum(p.numel() for p in block_params ))

    for block in blocks:  # after the offload hook: what a block computes with
        block.register_forward_pre_hook(count)
        block.register_forward_hook(count)
    assert sum(p.numel() for p in block_params ) <= biggest_group  # only group 0 before a call
    with torch.no_grad():
        for _ in range(2):  # the second call starts from the first's leftovers (the wrap-around prefetch)
            got = model(*_inputs())
            assert torch.equal(got.video, want.video) and torch.equal(got.audio, want.audio)
    assert len(resident_at) == 2 * 2 * len(blocks)
    assert max(resident_at) <= 2 * biggest_group  # the group computing + the one arriving
    assert min(resident_at) > 0
    if len(offload.groups) > 2:
        assert max(resident_at) < total  # never the whole model
    offload.remove()
    assert all(p.numel() for p in block_params)
    with torch.no_grad():
        assert torch.equal(model(*_inputs()).video, want.video)


def test_host_store_on_a_cpu_only_torch_needs_no_pinning_or_streams():
    torch.manual_seed(0)
    model = WanAVModel(CONFIG).eval()
    with torch.no_grad():
        want = model(*_inputs())
    offload = offload_blocks(model, "cpu", group_size=2)
    assert offload.stream is None and not offload.cuda
    home = next(iter(offload.home[1].values()))
    assert not home.is_pinned()
    with torch.no_grad():
        got = model(*_inputs())
    assert torch.equal(got.video, want.video) and torch.equal(got.audio, want.audio)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="store"):
        BlockOffload([], "cpu", store="tape")
    with pytest.raises(ValueError, match="folder"):
        BlockOffload([], "cpu", store="disk")
