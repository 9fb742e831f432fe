"""render --gpus N: chains shared out between ranks, the same takes and film as one process.

The storyboard (tests/storyboard_project.py) has two chains: a ─▶ b ─▶ e and c ─▶ d.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from storyboard_project import ROOT, SIZE, cli, director, make_storyboard

from nava_director.errors import InputError, NavaError
from nava_director.project.folder import Project
from nava_director.render.jobs import RenderOptions
from nava_director.render.launch import render_on_gpus
from nava_director.render.parallel import Topology
from nava_director.render.shape import shape_of
from nava_director.storyboard.chains import assign, chains


def test_chains_stay_whole_and_are_shared_out_by_length(tmp_path):
    plan = director(make_storyboard(tmp_path)).plan
    assert [[job.shot for job in chain] for chain in chains(plan)] == [
        ["a", "b", "e"],
        ["c", "d"],
    ]

    def shots(groups: int) -> list[list[str]]:
        return [[job.shot for job in group] for group in assign(plan, groups)]

    assert shots(1) == [[job.shot for job in plan.jobs]]  # one group: the plan's render order
    assert shots(2) == [
        ["a", "b", "e"],
        ["c", "d"],
    ]  # the longer chain first, to the emptier group
    assert shots(3) == [["a", "b", "e"], ["c", "d"], []]


def test_groups_of_ranks():
    topology = Topology(world=8, rank=5, sp=4)
    assert topology.groups == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert (topology.group, topology.leader, topology.is_leader) == (1, 4, False)
    with pytest.raises(InputError, match="--sp 3 does not divide 4 GPUs") as error:
        Topology(world=4, rank=0, sp=3)
    assert error.value.hint == "choose --sp among 1, 2, 4"


def test_an_up_to_date_project_renders_in_this_process(tmp_path, monkeypatch):
    sb = make_storyboard(tmp_path)
    from nava_director.render.run import render

    render(director(sb))
    monkeypatch.setattr(
        "nava_director.render.launch.launch",
        lambda *a: pytest.fail("ranks were started"),
    )
    report = render_on_gpus(director(sb), RenderOptions(), gpus=2)
    assert report.rendered == [] and sorted(report.reused) == ["a", "b", "c", "d", "e"]


def test_splitting_a_shot_needs_an_engine_that_can(tmp_path):
    with pytest.raises(InputError, match=r"the animatic-\d+ engine cannot split a shot over GPUs"):
        render_on_gpus(director(make_storyboard(tmp_path)), RenderOptions(), gpus=2, sp=2)


def _decode(path):
    with av.open(str(path)) as container:
        video = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    with av.open(str(path)) as container:
        audio = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    return video, audio


def _assert_same_pictures_and_sound(one, two):
    """Decoded: the same sound, and the same pictures up to the H.264 encoder (not bit-reproducible)."""
    (video1, audio1), (video2, audio2) = _decode(one), _decode(two)
    assert video1.shape == video2.shape
    assert np.abs(video1.astype(int) - video2).mean() < 1.0
    np.testing.assert_array_equal(audio1, audio2)


def _take(root, shot):
    folder = root / "shots" / shot / "take-001"
    meta = json.loads((folder / "meta.json").read_text())
    pngs = [np.asarray(Image.open(folder / name)) for name in ("first_frame.png", "last_frame.png")]
    return (
        folder,
        {k: meta[k] for k in ("key", "seed", "last_frame_hash", "caption")},
        pngs,
    )


@pytest.mark.slow
def test_two_cpu_ranks_render_the_chains_side_by_side_into_the_same_film(tmp_path):
    sb = make_storyboard(tmp_path)
    flags = ["--engine", "animatic", "--size", SIZE, "--rewriter", "template", "--no-check", "--json"]
    one = json.loads(cli("render", str(sb), "--out", str(tmp_path / "one"), *flags).stdout)
    done = cli("render", str(sb), "--out", str(tmp_path / "two"), "--gpus", "2", *flags)
    two = json.loads(done.stdout)

    # each chain on one rank, in render order; the two chains on different ranks
    assert two["ranks"] == {"a": 0, "b": 0, "c": 1, "d": 1, "e": 0}
    assert two["rendered"] == one["rendered"] == ["a", "b", "c", "d", "e"]  # render order
    assert two["failed"] == [] and two["captions"] == one["captions"]
    lines = done.stderr.splitlines()  # each group leader says what it renders, in its chain's order
    assert [line for line in lines if line.startswith("rank 1: shot")] == [
        "rank 1: shot c (1/2)",
        "rank 1: shot d (2/2)",
    ]
    assert [line for line in lines if line.startswith("rank 0: shot")] == [
        f"rank 0: shot {s} ({i}/3)" for i, s in ((1, "a"), (2, "b"), (3, "e"))
    ]

    for shot in "abcde":  # the same takes: keys, seeds, and what they hold
        folder1, meta1, pngs1 = _take(tmp_path / "one", shot)
        folder2, meta2, pngs2 = _take(tmp_path / "two", shot)
        assert meta1 == meta2, shot
        for png1, png2 in zip(pngs1, pngs2):
            np.testing.assert_array_equal(png1, png2)
        _assert_same_pictures_and_sound(folder1 / "clip.mp4", folder2 / "clip.mp4")
    # a continued shot was rendered after its upstream take was finished (its meta.json is written last)
    finished = {shot: (_take(tmp_path / "two", shot)[0] / "meta.json").stat().st_mtime_ns for shot in "abcde"}
    for upstream, continued in (("a", "b"), ("b", "e"), ("c", "d")):
        started = (_take(tmp_path / "two", continued)[0] / "clip.mp4").stat().st_mtime_ns
        assert finished[upstream] <= started

    manifest1 = json.loads((tmp_path / "one" / "manifest.json").read_text())
    manifest2 = json.loads((tmp_path / "two" / "manifest.json").read_text())
    for entry in (*manifest1["shots"].values(), *manifest2["shots"].values()):
        for take in entry["takes"]:
            take.pop("timings")
    assert manifest1 == manifest2
    _assert_same_pictures_and_sound(tmp_path / "one" / "film.mp4", tmp_path / "two" / "film.mp4")
    assert (tmp_path / "two" / "film.srt").read_text() == (tmp_path / "one" / "film.srt").read_text()

    # new takes of one shot of each chain, over two ranks: numbered as one process numbers them
    again = json.loads(
        cli(
            "render",
            str(sb),
            "--out",
            str(tmp_path / "two"),
            "--gpus",
            "2",
            "--shot",
            "a",
            "--shot",
            "c",
            "--takes",
            "2",
            *flags,
        ).stdout
    )
    assert again["rendered"] == ["a", "c"] and again["reused"] == ["b", "d", "e"]
    assert sorted(p.name for p in (tmp_path / "two" / "shots" / "c").iterdir()) == [
        "take-001",
        "take-002",
        "take-003",
    ]


@pytest.mark.slow
def test_the_nava_engine_split_over_two_cpu_ranks_makes_the_same_takes(tmp_path):
    from engine.make_tiny_weights import make_tiny_weights

    weights = make_tiny_weights(tmp_path / "weights")
    sb = make_storyboard(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVA_")}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "no-config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    env["OMP_NUM_THREADS"] = "1"  # CPU matmuls round alike only with alike thread counts (and 2 ranks share 2 cores)
    flags = [
        "--engine",
        "nava",
        "--weights",
        str(weights),
        "--size",
        "64x64",
        "--steps",
        "2",
        "--rewriter",
        "template",
        "--no-check",
        "--json",
    ]
    reports = {}
    runs = (("one", []), ("sp2", ["--gpus", "2", "--sp", "2"]), ("2x2", ["--gpus", "4", "--sp", "2"]))
    for name, ranks in runs:
        command = [
            sys.executable,
            "-c",
            "from nava_director.cli import main; main()",
            "render",
            str(sb),
        ]
        done = subprocess.run(
            [*command, "--out", str(tmp_path / name), *ranks, *flags],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        reports[name] = json.loads(done.stdout)
    assert reports["sp2"]["rendered"] == reports["one"]["rendered"] == ["a", "b", "c", "d", "e"]
    assert reports["2x2"]["rendered"] == ["a", "b", "c", "d", "e"]
    assert set(reports["sp2"]["ranks"].values()) == {0}  # one group of two ranks renders every chain
    assert set(reports["2x2"]["ranks"].values()) == {0, 2}  # two groups of two, led by ranks 0 and 2
    for shot in "abcde":  # the sharded DiT computes the same latents: identical frames and sound
        folder1, meta1, pngs1 = _take(tmp_path / "one", shot)
        for split in ("sp2", "2x2"):
            folder2, meta2, pngs2 = _take(tmp_path / split, shot)
            assert meta1 == meta2, (shot, split)
            for png1, png2 in zip(pngs1, pngs2):
                np.testing.assert_array_equal(png1, png2)
            np.testing.assert_array_equal(_decode(folder1 / "clip.mp4")[1], _decode(folder2 / "clip.mp4")[1])


@pytest.mark.slow
def test_a_locked_project_stops_every_rank_with_rank_0s_error(tmp_path):
    from nava_director.project.folder import Project

    sb = make_storyboard(tmp_path)
    flags = ["--engine", "animatic", "--size", SIZE, "--rewriter", "template", "--no-check", "--out", str(tmp_path / "p")]
    with Project(tmp_path / "p").locked():  # another render holds the project
        done = cli("render", str(sb), "--gpus", "2", *flags, check=False)
    assert done.returncode == 1
    assert f"another nava-director process (pid {os.getpid()}) is using" in done.stderr
    assert not (tmp_path / "p" / "shots").exists()


def _take_link_ranks(rank: int, init_file: str, root: str) -> None:
    """Rank 1 hands two takes (and one it cannot have written) to rank 0, which writes them."""
    import torch.distributed as dist

    from nava_director.clip import Clip
    from nava_director.project.folder import Project
    from nava_director.project.takes import NewTake, TakeMeta
    from nava_director.render.parallel import RemoteTakes, TakeServer

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    link = dist.new_group([0, 1], backend="gloo")
    try:
        if rank == 0:
            TakeServer(Project(Path(root)), {1: link}).serve()  # until rank 1 closes
            return
        frames = np.full((5, 16, 16, 3), 90, np.uint8)
        clip = Clip(frames=frames, audio=np.zeros((2, 10_000), np.float32), sample_rate=48_000, fps=24)
        meta = TakeMeta(engine="test", caption="", writer="template", width=16, height=16, frames=5, fps=24, steps=1)
        remote = RemoteTakes(link)  # a leader's take writer has no folder of its own
        first = remote.add_take(NewTake("s1", "k" * 32, 7, clip, meta, 0.1))
        second = remote.add_take(NewTake("s1", "k" * 32, 8, clip, meta, 0.1))
        assert (first.n, second.n) == (1, 2) and first.folder.is_relative_to(root), first
        try:
            remote.add_take(NewTake("s2", "k" * 32, 7, None, meta, 0.0))  # no clip: rank 0 fails, the leader is told
        except NavaError as error:
            assert "rank 0 could not write the take" in str(error)
        else:
            raise AssertionError("a failed write was not reported")
        remote.close()
    finally:
        dist.destroy_process_group()


def test_group_leaders_hand_their_takes_to_rank_0_which_writes_them(tmp_path):
    import torch.multiprocessing as mp

    root = tmp_path / "project"
    mp.spawn(_take_link_ranks, args=(str(tmp_path / "init"), str(root)), nprocs=2)
    takes = Project(root).takes("s1")
    assert [(t.n, t.seed) for t in takes] == [(1, 7), (2, 8)]


@pytest.mark.slow
def test_a_group_the_heads_cannot_split_over_stops_the_run_once_up_front(tmp_path):
    from engine.make_tiny_weights import make_tiny_weights

    weights = make_tiny_weights(tmp_path / "weights")  # 2 attention heads
    sb = make_storyboard(tmp_path)
    flags = ["--engine", "nava", "--weights", str(weights), "--size", "64x64", "--steps", "1", "--no-check"]
    flags += ["--gpus", "3", "--sp", "3"]
    done = cli("render", str(sb), *flags, check=False)
    assert done.returncode != 0
    assert done.stderr.count("2 attention heads do not split over a group of 3 ranks") == 1, done.stderr
    assert not list((tmp_path / "sb.nava").glob("shots/*/take-*/meta.json"))  # nothing rendered


def test_after_a_size_run_gpus_decides_as_one_process_does(tmp_path, monkeypatch):
    """A run without --size after a --size run renders at the engine's size: one process and
    --gpus alike (the --gpus check once took the size of the last render and reused every take)."""
    from nava_director.render.run import render

    sb = make_storyboard(tmp_path)
    render(director(sb))  # at --size 96x64
    started = []
    monkeypatch.setattr("nava_director.render.launch.launch", lambda *a: started.append(a) or None)
    unsized = director(sb, size=None)
    render_on_gpus(unsized, RenderOptions(), gpus=2)
    assert len(started) == 1  # not up to date: the ranks render
    assert shape_of(unsized).size == (320, 176)  # the animatic's size for a landscape storyboard
    assert sorted(render(director(sb, size=None)).rendered) == ["a", "b", "c", "d", "e"]  # as one process does


@pytest.mark.slow
def test_two_cpu_ranks_after_a_size_run_make_the_takes_one_process_makes(tmp_path):
    from nava_director.render.run import render

    sb = make_storyboard(tmp_path)
    for out in ("one", "two"):
        render(director(sb, out=tmp_path / out))  # at --size 96x64
    one = render(director(sb, size=None, out=tmp_path / "one"))
    two = render_on_gpus(director(sb, size=None, out=tmp_path / "two"), RenderOptions(), gpus=2)
    assert two.rendered == one.rendered == ["a", "b", "c", "d", "e"]
    assert set(two.ranks.values()) == {0, 1}
    for shot in "abcde":
        meta = [json.loads((tmp_path / out / "shots" / shot / "take-002" / "meta.json").read_text()) for out in
                ("one", "two")]
        assert meta[0]["key"] == meta[1]["key"] and (meta[1]["width"], meta[1]["height"]) == (320, 176)
    manifests = [json.loads((tmp_path / out / "manifest.json").read_text()) for out in ("one", "two")]
    assert manifests[0]["size"] == manifests[1]["size"] == [320, 176]
