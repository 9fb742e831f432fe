"""The sampler against the reference's numbers (shared/fixtures/components/sampler_*)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from engine.config import ModelConfig
from engine.guidance import GuidanceScales, Passes, guide, guide_audio, guide_video
from engine.sampling import Latents, flow_unipc, initial_noise, reimpose_first_frame, sample
from tests.conftest import COMPONENTS


@pytest.fixture(scope="module")
def unipc() -> dict[str, torch.Tensor]:
    return load_file(COMPONENTS / "sampler_unipc.safetensors")


@pytest.mark.parametrize("steps", [50, 25, 4])
def test_schedule_is_the_reference_grid(unipc, steps):
    scheduler = flow_unipc(steps)
    assert scheduler.timesteps.dtype == torch.int64
    assert torch.equal(scheduler.timesteps, unipc[f"timesteps{steps}"])
    assert torch.equal(scheduler.sigmas, unipc[f"sigmas{steps}"])


# The scheduler route is bit-exact on the machine that made the fixture; the synthetic
# velocity's tanh rounds one ulp apart on other CPUs (seen: 1.2e-7 on an AMD EPYC), while a
# wrong grid or solver is off by 1e-4 to 1e-3 (the fixture's differences_config_only).
TRAJECTORY_ATOL = 1e-6


class SyntheticDenoiser:
    """The fixture's synthetic velocity ``tanh(x) * t/1000 + 0.1 x``; records what it saw."""

    def __init__(self, clean_first_frame: bool = False):
        self.clean_first_frame = clean_first_frame
        self.seen: list[Latents] = []

    def velocity(self, x: torch.Tensor, timestep: torch.Tensor, frame_axis: int | None) -> torch.Tensor:
        s = torch.full_like(x, float(timestep.item()) / 1000)
        if frame_axis is not None and self.clean_first_frame:
            s.narrow(frame_axis, 0, 1).zero_()
        return torch.tanh(x) * s + torch.tensor(0.1, dtype=torch.float32) * x

    def __call__(self, video, audio, timestep):
        assert timestep.dtype == torch.int64 and timestep.shape == (1,)
        self.seen.append(Latents(video.clone(), audio.clone()))
        v, a = self.velocity(video, timestep, 1), self.velocity(audio, timestep, None)
        return Passes(v, v), Passes(a, a)  # plain CFG of equal passes is the velocity itself


@pytest.mark.parametrize("steps", [50, 25, 4])
def test_trajectory_matches_reference(unipc, steps):
    denoiser = SyntheticDenoiser()
    noise = Latents(unipc["inputs.video"], unipc["inputs.audio"])
    final = sample(denoiser, noise, steps)

    for k, seen in enumerate(denoiser.seen):
        torch.testing.assert_close(seen.video, unipc[f"traj{steps}.video"][k], rtol=0, atol=TRAJECTORY_ATOL)
        torch.testing.assert_close(seen.audio, unipc[f"traj{steps}.audio"][k], rtol=0, atol=TRAJECTORY_ATOL)
    torch.testing.assert_close(final.video, unipc[f"traj{steps}.video"][steps], rtol=0, atol=TRAJECTORY_ATOL)
    torch.testing.assert_close(final.audio, unipc[f"traj{steps}.audio"][steps], rtol=0, atol=TRAJECTORY_ATOL)


@pytest.mark.parametrize("steps", [50, 25, 4])
def test_first_frame_trajectory_matches_reference(unipc, steps):
    first = unipc["inputs.i2v_first_frame"]
    denoiser = SyntheticDenoiser(clean_first_frame=True)
    final = sample(denoiser, Latents(unipc["inputs.video"], unipc["inputs.audio"]), steps, first_frame=first)

    expected = unipc[f"i2v.traj{steps}.video"]
    for k, seen in enumerate(denoiser.seen):
        assert torch.equal(seen.video[:, :1], first)  # written before every model call
        torch.testing.assert_close(seen.video[:, 1:], expected[k][:, 1:], rtol=0, atol=TRAJECTORY_ATOL)
    torch.testing.assert_close(final.video, expected[steps], rtol=0, atol=TRAJECTORY_ATOL)
    # the loop itself does not restore the clean frame: the reference's drift remains
    assert (final.video[:, :1] - first).abs().max() > 1e-2


def test_reimpose_first_frame_replaces_only_frame_zero():
    video = torch.randn(4, 3, 2, 2)
    first = torch.randn(4, 1, 2, 2)
    out = reimpose_first_frame(video, first)
    assert torch.equal(out[:, :1], first)
    assert torch.equal(out[:, 1:], video[:, 1:])
    assert out.shape == video.shape


def test_guidance_formula_on_known_tensors():
    cond, uncond, align, timbre = (torch.tensor([v]) for v in (1.0, 0.5, 0.25, 2.0))
    scales = GuidanceScales()  # s_v 3, s_a 2, s_va 3, s_aa 2, s_t 3
    passes = Passes(cond, uncond, align, timbre)
    # video = COND + 3(COND-UNCOND) + 3(COND-ALIGN) = 1 + 1.5 + 2.25; no timbre term
    assert guide_video(passes, scales).item() == 4.75
    # audio = COND + 2(COND-UNCOND) + 2(COND-ALIGN) + 3(COND-TIMBRE) = 1 + 1 + 1.5 - 3
    assert guide_audio(passes, scales).item() == 0.5
    # without align and timbre: UNCOND + s(COND-UNCOND)
    assert guide(Passes(cond, uncond), 3.0).item() == 2.0
    assert guide(Passes(cond, uncond, timbre=timbre), 2.0, timbre_scale=3.0).item() == -1.0


def test_guidance_reproduces_the_loop_fixture():
    loop = load_file(COMPONENTS / "sampler_loop_tiny.safetensors")
    for case in ("t2av", "i2v"):
        for modality, combine in (("video", guide_video), ("audio", guide_audio)):
            passes = Passes(*(loop[f"{case}.out.{name}.{modality}"] for name in ("cond", "uncond", "align", "timbre")))
            torch.testing.assert_close(
                combine(passes, GuidanceScales()), loop[f"{case}.guided.{modality}"], rtol=0, atol=0
            )


def test_noise_is_seeded_and_drawn_like_the_reference():
    loop = load_file(COMPONENTS / "sampler_loop_tiny.safetensors")
    noise = initial_noise((8, 3, 4, 6), (7, 16), seed=7)  # the fixture's torch.manual_seed(7)
    assert torch.equal(noise.video, loop["t2av.init.video"])
    assert torch.equal(noise.audio, loop["t2av.init.audio"])
    again = initial_noise((8, 3, 4, 6), (7, 16), seed=7)
    assert torch.equal(again.video, noise.video)


def test_progress_is_called_once_per_step(unipc):
    calls = []
    sample(
        SyntheticDenoiser(),
        Latents(unipc["inputs.video"], unipc["inputs.audio"]),
        4,
        progress=lambda *a: calls.append(a),
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.fixture(scope="module")
def tiny_dit():
    from engine.config import ModelConfig
    from engine.model.wan_av import WanAVModel
    from tests.conftest import SHARED_FIXTURES

    weights = load_file(SHARED_FIXTURES / "nava_tiny_parity.safetensors")
    model = WanAVModel(ModelConfig.preset("tiny"))
    model.load_state_dict({k.removeprefix("model."): v for k, v in weights.items() if k.startswith("model.")})
    return model.eval()


@pytest.mark.parametrize("case", ["t2av", "i2v"])
def test_whole_tiny_loop_matches_reference(tiny_dit, case):
    from engine.passes import Conditioning, GuidedPasses

    loop = load_file(COMPONENTS / "sampler_loop_tiny.safetensors")
    first = loop["i2v.in.first_frame"] if case == "i2v" else None
    conditioning = Conditioning.build(
        loop[f"{case}.in.ctx_pos"],
        loop[f"{case}.in.ctx_neg"],
        loop[f"{case}.in.spk_pos"][0].tolist(),
        [loop[f"{case}.in.spk_embed"]],
    )
    passes = GuidedPasses(tiny_dit, conditioning, GuidanceScales(), first_frame_clean=first is not None)
    seen = []

    def recording(video, audio, timestep):
        video_passes, audio_passes = passes(video, audio, timestep)
        seen.append((video, audio, video_passes, audio_passes))
        return video_passes, audio_passes

    noise = Latents(loop[f"{case}.init.video"], loop[f"{case}.init.audio"])
    final = sample(recording, noise, 4, first_frame=first)

    for k, (video, audio, video_passes, audio_passes) in enumerate(seen):
        torch.testing.assert_close(video, loop[f"{case}.model_in.video"][k], rtol=0, atol=5e-4)
        torch.testing.assert_close(audio, loop[f"{case}.model_in.audio"][k], rtol=0, atol=5e-4)
        for name in ("cond", "uncond", "align", "timbre"):
            torch.testing.assert_close(
                getattr(video_passes, name), loop[f"{case}.out.{name}.video"][k], rtol=0, atol=1e-4
            )
            torch.testing.assert_close(
                getattr(audio_passes, name), loop[f"{case}.out.{name}.audio"][k], rtol=0, atol=1e-4
            )
    torch.testing.assert_close(final.video, loop[f"{case}.final.video"], rtol=1e-4, atol=5e-4)
    torch.testing.assert_close(final.audio, loop[f"{case}.final.audio"], rtol=1e-4, atol=5e-4)


@pytest.mark.parametrize("budget", [1, 3 * 25])  # 25 joint tokens: one pass per call, or 3 + 1
def test_passes_run_in_smaller_batches_when_the_budget_says_so(tiny_dit, budget):
    from engine.passes import Conditioning, GuidedPasses

    loop = load_file(COMPONENTS / "sampler_loop_tiny.safetensors")
    conditioning = Conditioning.build(
        loop["t2av.in.ctx_pos"], loop["t2av.in.ctx_neg"], [3], [loop["t2av.in.spk_embed"]]
    )
    video, audio, t = loop["t2av.init.video"], loop["t2av.init.audio"], torch.tensor([999])
    together = GuidedPasses(tiny_dit, conditioning, GuidanceScales())(video, audio, t)
    one_by_one = GuidedPasses(tiny_dit, conditioning, GuidanceScales(), token_budget=budget)(video, audio, t)
    for a, b in zip(together, one_by_one):
        for name in ("cond", "uncond", "align", "timbre"):
            torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=1e-5)


def test_tokens_per_call_follow_the_gpus_free_memory(tiny_dit, monkeypatch):
    from types import SimpleNamespace

    from engine import passes

    assert passes.tokens_per_call(tiny_dit) == passes.TOKEN_BUDGET  # on the CPU: the fixed budget
    on_gpu = SimpleNamespace(config=tiny_dit.config, dtype=torch.bfloat16)
    monkeypatch.setattr(passes, "_device", lambda model: torch.device("cuda", 0))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (80 * 2**30, 141 * 2**30))
    from engine.gpu_memory import ACTIVATION_BYTES_PER_TOKEN

    per_token = ACTIVATION_BYTES_PER_TOKEN * (15 * 64 + 2 * 128) / (15 * 3072 + 2 * 14336)  # measured, scaled
    assert passes.tokens_per_call(on_gpu) == int(80 * 2**30 * passes.ACTIVATION_SHARE / per_token)
    full = SimpleNamespace(config=ModelConfig.preset("nava-6.3b"), dtype=torch.bfloat16)
    assert passes.tokens_per_call(full) == int(80 * 2**30 * passes.ACTIVATION_SHARE / ACTIVATION_BYTES_PER_TOKEN)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (0, 141 * 2**30))
    assert passes.tokens_per_call(on_gpu) == 1  # nothing free: one pass per call, never zero


def test_scales_from_a_mapping():
    from engine.errors import EngineError

    assert GuidanceScales.from_mapping({"s_v": 2}) == GuidanceScales(s_v=2.0)
    assert GuidanceScales.from_mapping(None) == GuidanceScales()
    with pytest.raises(EngineError, match="unknown guidance scale"):
        GuidanceScales.from_mapping({"cfg": 4.0})


def test_a_shot_with_no_voice_has_no_speaker_rows_and_no_timbre_pass(tiny_dit):
    """As the reference: no spk_wavs -> spk_embs None (no rows, no TIMBRE); some voices -> the
    unvoiced spans keep the null token (a zero embedding)."""
    from engine.passes import Conditioning, GuidedPasses, Pass

    loop = load_file(COMPONENTS / "sampler_loop_tiny.safetensors")
    prompt, negative = loop["t2av.in.ctx_pos"], loop["t2av.in.ctx_neg"]
    silent = Conditioning.build(prompt, negative, [3, 6], [None, None])
    assert silent.speakers is None and silent.slots is None
    passes = GuidedPasses(tiny_dit, silent, GuidanceScales())
    assert passes.passes == [Pass.COND, Pass.UNCOND, Pass.ALIGN] and passes.inputs.speaker_slots(slice(0, 3)) is None
    video, audio, t = loop["t2av.init.video"], loop["t2av.init.audio"], torch.tensor([999])
    video_passes, _ = passes(video, audio, t)
    assert video_passes.timbre is None

    voiced = Conditioning.build(prompt, negative, [3, 6], [None, loop["t2av.in.spk_embed"]])
    assert voiced.speakers.shape == (2, 192) and not voiced.speakers[0].any() and voiced.speakers[1].any()
    assert voiced.slots.tolist() == [3, 6]
    assert GuidedPasses(tiny_dit, voiced, GuidanceScales()).passes[-1] is Pass.TIMBRE


def test_image_conditioned_shots_take_the_references_i2av_guidance():
    t2av, i2av = GuidanceScales.for_mode(False), GuidanceScales.for_mode(True)
    assert (t2av.s_v, t2av.s_a, t2av.s_va, t2av.s_aa, t2av.s_t) == (3.0, 2.0, 3.0, 2.0, 3.0)
    assert (i2av.s_v, i2av.s_a, i2av.s_va, i2av.s_aa, i2av.s_t) == (2.0, 2.0, 3.0, 2.0, 2.0)
    assert GuidanceScales.from_mapping({"s_a": 4.0}, image_conditioned=True) == GuidanceScales(s_v=2.0, s_a=4.0, s_t=2.0)
    assert GuidanceScales.from_mapping(None) == GuidanceScales()
