"""The model passes of one denoising step, batched through the DiT.

Per step the reference runs, on the same latents and timestep:

  COND    prompt, speaker tokens written at their slots
  UNCOND  negative prompt, no speaker tokens
  ALIGN   prompt, no speaker tokens, modality-masked self-attention (3-D aligned CFG)
  TIMBRE  prompt, no speaker tokens (only when the prompt has speech spans)

:class:`GuidedPasses` stacks them into one batch (several smaller ones when the token
budget says so) and hands :mod:`engine.sampling` their outputs as :class:`Passes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.guidance import GuidanceScales, Passes
from engine.model.wan_av import SpeakerSlots, WanAVModel

SPEAKER_DIM = 192
TOKEN_BUDGET = 1 << 16  # joint tokens per DiT call on the CPU; passes beyond it run in further calls
ACTIVATION_SHARE = 0.5  # of the accelerator's free memory that one call's activations may take


def tokens_per_call(model: WanAVModel) -> int:
    """Joint tokens one DiT call may hold: on a GPU what half its free memory allows, else TOKEN_BUDGET.

    A token's live activations at the widest point of a block (the residual stream, its normed
    and modulated copies, q/k/v/o with RoPE in float64, the per-token modulation, the FFN's
    hidden layer) were measured at 293,576 bytes for the 6.3B model in bf16
    (``python -m bench.activations``); other widths and dtypes scale with ``15 dim + 2 ffn``
    and the dtype's size.
    """
    from engine.gpu_memory import ACTIVATION_BYTES_PER_TOKEN

    device = _device(model)
    if device.type != "cuda":
        return TOKEN_BUDGET
    free, _ = torch.cuda.mem_get_info(device)
    c = model.config
    width = (15 * c.dim + 2 * c.ffn_dim) / (15 * 3072 + 2 * 14336)
    per_token = ACTIVATION_BYTES_PER_TOKEN * width * torch.finfo(model.dtype).bits / 16
    return max(1, int(free * ACTIVATION_SHARE / per_token))


class Pass(Enum):
    COND = "cond"
    UNCOND = "uncond"
    ALIGN = "align"
    TIMBRE = "timbre"


@dataclass
class Conditioning:
    """What the passes are conditioned on (one clip)."""

    prompt: Tensor  # [L, text_dim] the prompt's encoder output, trimmed to its true length
    negative: Tensor  # [L', text_dim] the negative prompt's
    speakers: Tensor | None = None  # [S, 192] one embedding per speech span (zeros: null speaker)
    slots: Tensor | None = None  # [S] int64 context rows of the speaker tokens

    @classmethod
    def build(cls, prompt: Tensor, negative: Tensor, slots: list[int], embeddings: list[Tensor | None]) -> Conditioning:
        """``embeddings`` one per slot; None selects the model's null speaker (a zero embedding).

        With no voice at all the shot has no speaker rows (and so no TIMBRE pass), as in the
        reference: its dataset gives ``spk_embs=None`` without ``spk_wavs``, and zeros (the
        null token) only for the unvoiced spans of a shot that has some voices.
        """
        if not slots or all(e is None for e in embeddings):
            return cls(prompt, negative)
        rows = [e.reshape(SPEAKER_DIM).float().cpu() if e is not None else torch.zeros(SPEAKER_DIM) for e in embeddings]
        return cls(prompt, negative, torch.stack(rows), torch.tensor(slots, dtype=torch.int64))


class GuidedPasses:
    """A :class:`~engine.sampling.Denoiser` over :class:`WanAVModel`: the passes of one step."""

    def __init__(
        self,
        model: WanAVModel,
        conditioning: Conditioning,
        scales: GuidanceScales,
        first_frame_clean: bool = False,
        token_budget: int | None = None,
    ):
        """``token_budget``: joint tokens per DiT call (None: :func:`tokens_per_call`); the passes of a
        step are batched into as few calls as it allows."""
        self.model = model
        self.first_frame_clean = first_frame_clean
        self.token_budget = token_budget if token_budget is not None else tokens_per_call(model)
        self.passes = [Pass.COND, Pass.UNCOND]
        if scales.align:
            self.passes.append(Pass.ALIGN)
        if scales.timbre and conditioning.speakers is not None:
            self.passes.append(Pass.TIMBRE)
        self.inputs = _batched_inputs(self.passes, conditioning, _device(model), model.dtype)

    def __call__(self, video: Tensor, audio: Tensor, timestep: Tensor) -> tuple[Passes, Passes]:
        """``video`` [C, F, H, W] and ``audio`` [L, C] fp32, ``timestep`` int64 [1] -> each pass's fp32 velocity."""
        tokens = math.prod(self.model.video_grid(video[None])) + audio.shape[0]
        per_call = max(1, self.token_budget // tokens)
        calls = range(0, len(self.passes), per_call)
        outputs = [self._run(video, audio, timestep, slice(start, start + per_call)) for start in calls]
        videos = torch.cat([v for v, _ in outputs]).float()
        audios = torch.cat([a for _, a in outputs]).float()
        return _as_passes(dict(zip(self.passes, videos))), _as_passes(dict(zip(self.passes, audios)))

    @torch.no_grad()
    def _run(self, video: Tensor, audio: Tensor, timestep: Tensor, chunk: slice) -> tuple[Tensor, Tensor]:
        """One DiT call over the passes in ``chunk``."""
        model, inputs = self.model, self.inputs
        context = inputs.context[chunk]
        batch, device, dtype = context.shape[0], context.device, model.dtype
        v = video.to(device, dtype)[None].expand(batch, -1, -1, -1, -1)
        a = audio.to(device, dtype)[None].expand(batch, -1, -1)
        t = timestep.to(device).expand(batch)
        t_video = model.video_timesteps(t, v, self.first_frame_clean)
        prediction = model(v, a, t_video, t, context, inputs.speaker_slots(chunk), inputs.modality_mask[chunk])
        return prediction.video, prediction.audio


@dataclass
class _BatchedInputs:
    context: Tensor  # [P, L, text_dim], zero-padded to the longest (the DiT pads to text_len anyway)
    modality_mask: Tensor  # [P] bool
    speakers: Tensor | None  # [P, S, 192]
    positions: Tensor | None  # [P, S] int64, -1 where a pass writes no speaker token

    def speaker_slots(self, chunk: slice) -> SpeakerSlots | None:
        if self.positions is None or not bool((self.positions[chunk] >= 0).any()):
            return None
        return SpeakerSlots(self.speakers[chunk], self.positions[chunk])


def _batched_inputs(passes: list[Pass], c: Conditioning, device: torch.device, dtype: torch.dtype) -> _BatchedInputs:
    contexts = [c.negative if p is Pass.UNCOND else c.prompt for p in passes]
    length = max(x.shape[0] for x in contexts)
    context = torch.stack([F.pad(x.float(), (0, 0, 0, length - x.shape[0])) for x in contexts])
    mask = torch.tensor([p is Pass.ALIGN for p in passes])
    speakers = positions = None
    if c.speakers is not None:
        speakers = c.speakers[None].expand(len(passes), -1, -1)
        positions = torch.stack([c.slots if p is Pass.COND else torch.full_like(c.slots, -1) for p in passes])
        # fp32: the speaker token's first LayerNorm sees the embedding at full precision
        speakers, positions = speakers.to(device, torch.float32), positions.to(device)
    return _BatchedInputs(context.to(device, dtype), mask.to(device), speakers, positions)


def _as_passes(outputs: dict[Pass, Tensor]) -> Passes:
    return Passes(
        cond=outputs[Pass.COND],
        uncond=outputs[Pass.UNCOND],
        align=outputs.get(Pass.ALIGN),
        timbre=outputs.get(Pass.TIMBRE),
    )


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device
