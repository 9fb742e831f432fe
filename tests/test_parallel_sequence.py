"""Ulysses sequence parallelism (engine/parallel.py): SP=2 over gloo equals one process.

Two CPU ranks are started with torch.multiprocessing; each runs the sharded forward and
rank 0 stores what it saw for the asserts here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from contextlib import nullcontext
from dataclasses import replace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import ROOT, SHARED_FIXTURES

from engine.config import ModelConfig
from engine.errors import EngineError
from engine.model import SpeakerSlots, WanAVModel
from engine.model.layout import Stream, TokenLayout
from engine.parallel import SequenceParallel, ShardLayout, sequence_parallel
from engine.parity import MODES, ParityFixture

FIXTURE = SHARED_FIXTURES / "nava_tiny_parity.safetensors"
V, A = Stream.VIDEO, Stream.AUDIO


def test_shard_layout_keeps_each_token_with_its_stream():
    layout = TokenLayout(video_grid=(1, 2, 3), audio_len=5)  # 11 tokens, 4 ranks of 3, 1 padding
    shards = [ShardLayout.of(layout, r * 3, r * 3 + 3, 12).streams for r in range(4)]
    assert shards == [
        ((V, 3),),
        ((V, 3),),
        ((A, 3),),
        ((A, 3),),
    ]  # the padding rides with audio
    layout = TokenLayout(video_grid=(1, 1, 5), audio_len=2)  # 7 tokens over 2 ranks of 4
    assert [ShardLayout.of(layout, r * 4, r * 4 + 4, 8).streams for r in range(2)] == [
        ((V, 4),),
        ((V, 1), (A, 3)),
    ]
    only_audio = TokenLayout(audio_len=3)  # 3 tokens over 4 ranks: the last holds padding only
    assert ShardLayout.of(only_audio, 3, 4, 4).streams == ((A, 1),)
    x = torch.arange(4.0)[None]
    assert [(s, p.tolist()) for s, p in ShardLayout(((V, 1), (A, 3))).split(x)] == [
        (V, [[0.0]]),
        (A, [[1.0, 2.0, 3.0]]),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _random_model(num_heads: int, dim: int = 64) -> WanAVModel:
    torch.manual_seed(0)
    return WanAVModel(replace(ModelConfig.preset("tiny"), dim=dim, num_heads=num_heads)).eval()


def _odd_batch():
    """Two samples, 18 video + 5 audio tokens (23: does not divide by 2), per-sample modality
    mask, per-token timesteps with a clean first frame, a speaker in one sample only."""
    g = torch.Generator().manual_seed(1)
    video, audio = (
        torch.randn(2, 8, 3, 4, 6, generator=g),
        torch.randn(2, 5, 16, generator=g),
    )
    t = torch.tensor([700.0, 300.0])
    speaker = SpeakerSlots(torch.randn(2, 1, 192, generator=g), torch.tensor([[2], [-1]]))
    context = torch.randn(2, 9, 32, generator=g)
    return video, audio, t, context, speaker, torch.tensor([True, False])


def _forward(model: WanAVModel, inputs):
    video, audio, t, context, speaker, mask = inputs
    with torch.no_grad():
        out = model(
            video,
            audio,
            model.video_timesteps(t, video, True),
            t,
            context,
            speaker,
            mask,
        )
    return torch.cat([out.video.flatten(1), out.audio.flatten(1)], dim=1)


def _fixture_outputs(fixture: ParityFixture, dtype: torch.dtype, group) -> dict[str, torch.Tensor]:
    model = fixture.model(dtype)
    outputs = {}
    for mode in fixture.modes:
        with sequence_parallel(model, group) if group is not None else nullcontext():
            got = fixture.outputs(fixture.run(model, mode))
        outputs.update({f"{mode}.{k}": v for k, v in got.items()})
    return outputs


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        fixture = ParityFixture(FIXTURE)
        found: dict[str, object] = {}
        for dtype in (torch.float32, torch.bfloat16):
            split = _fixture_outputs(fixture, dtype, dist.group.WORLD)
            gathered = [None] * world
            dist.all_gather_object(gathered, split)
            found[str(dtype)] = split
            found[f"{dtype}.ranks_agree"] = all(torch.equal(other[k], split[k]) for other in gathered for k in split)
        model = _random_model(num_heads=4)
        with sequence_parallel(model) as parallel:
            found["odd_split"] = _forward(model, _odd_batch())
            found["odd_length"] = parallel.length
        try:
            SequenceParallel().install(_random_model(num_heads=3, dim=96))
        except EngineError as error:
            found["heads_error"] = f"{error.message} | {error.hint}"
        if rank == 0:
            torch.save(found, os.path.join(out_dir, "found.pt"))
    finally:
        dist.barrier()  # no rank tears its connections down while another still uses them
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sp2")
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    return torch.load(out / "found.pt")


@pytest.mark.slow
def test_sp2_equals_one_process_in_every_mode_of_the_parity_fixture(two_ranks):
    fixture = ParityFixture(FIXTURE)
    assert set(fixture.modes) == set(MODES)
    for dtype in (torch.float32, torch.bfloat16):
        single = _fixture_outputs(fixture, dtype, None)
        split = two_ranks[str(dtype)]
        assert split.keys() == single.keys() and len(single) == 14  # 8 modes, 6 of them with both streams
        assert two_ranks[f"{dtype}.ranks_agree"]
        for name, want in single.items():
            if dtype == torch.float32:
                torch.testing.assert_close(split[name], want, atol=1e-5, rtol=1e-5, msg=name)
            else:  # bf16 rounding differs with the matmul split; both stay at the fixture's tolerance
                assert float((split[name] - want).norm() / want.norm()) < 1e-2, name
        for mode in fixture.modes:  # and against the reference numbers themselves
            for stream in ("video", "audio"):
                if f"{mode}.{stream}" in split and dtype == torch.float32:
                    want = fixture.tensors[f"out.{mode}.{stream}"]
                    assert float((split[f"{mode}.{stream}"] - want).abs().max()) <= 1e-4


@pytest.mark.slow
def test_padding_when_the_tokens_do_not_divide(two_ranks):
    assert two_ranks["odd_length"] == 23  # 18 video + 5 audio over 2 ranks: 12 each, 1 padding
    torch.testing.assert_close(
        two_ranks["odd_split"],
        _forward(_random_model(num_heads=4), _odd_batch()),
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.slow
def test_heads_that_do_not_divide_are_a_clear_error(two_ranks):
    assert two_ranks["heads_error"] == (
        "sequence parallel: the model's 3 attention heads do not split over a group of 2 ranks"
        " | use a group size that divides 3: 1, 3"
    )


@pytest.mark.slow
def test_parity_command_under_torchrun():
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
    ]
    done = subprocess.run(
        [*torchrun, "-m", "engine.parity", "--sp", "2", str(FIXTURE)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 9 and lines[-1] == "8/8 modes within tolerance"  # rank 0 alone prints
    assert all(line.endswith(" ok") for line in lines[:-1])
    assert {line.split()[0] for line in lines[:-1]} == set(MODES)
