"""WanAVModel: NAVA's Align-then-Fuse joint audio-video diffusion transformer.

Module names follow the reference, so ``state_dict()`` keys are the released checkpoint's
(minus its ``backbone.`` prefix). The run dtype is the dtype of the weights: fp32 for small
models on CPU, bf16 for the 6.3B model, where the computation follows the reference's
autocast dtype flow (Linear/Conv in bf16, norm statistics in fp32, RoPE in float64).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from engine.config import ModelConfig
from engine.model.blocks import BlockInputs, DoubleStreamBlock, SingleStreamBlock
from engine.model.embeddings import AudioPatchEmbedding, SpeakerToken, TextEmbedding, VideoPatchEmbedding, sinusoid
from engine.model.head import Head, unpatchify
from engine.model.layout import Stream, TokenLayout
from engine.model.rope import joint_rope


@dataclass
class SpeakerSlots:
    """Speaker embeddings and the context rows they overwrite (the ``<extra_id_2>`` positions).

    ``embeddings`` [B, S, speaker_dim] (ReDimNet, 192-d), best fp32: the first LayerNorm runs
    on them in fp32 as in the reference; an all-zero row selects the learned null speaker.
    ``positions`` [B, S] int64 rows of the text context, -1 for an unused slot.
    """

    embeddings: torch.Tensor
    positions: torch.Tensor


class AVPrediction(NamedTuple):
    """Flow-matching velocities in the run dtype; None for a modality not given."""

    video: torch.Tensor | None  # [B, C_v, F, H, W]
    audio: torch.Tensor | None  # [B, L_a, C_a]


class WanAVModel(nn.Module):
    # engine.parallel.SequenceParallel while the forward runs split over ranks (None: one device)
    sequence_parallel = None

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = self.config = config
        self.patch_embedding = VideoPatchEmbedding(c.vid_in_dim, c.dim, c.patch_size)
        self.patch_embedding_audio = AudioPatchEmbedding(c.audio_in_dim, c.dim)
        if c.add_spk_emb:
            self.speaker_embedding = SpeakerToken(c.dim, c.speaker_dim)
        self.text_embedding = TextEmbedding(c.text_dim, c.dim, c.text_len)
        self.time_embedding = nn.Sequential(nn.Linear(c.freq_dim, c.dim), nn.SiLU(), nn.Linear(c.dim, c.dim))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(c.dim, 6 * c.dim))
        block_args = (c.dim, c.ffn_dim, c.num_heads, c.eps)
        self.double_blocks = nn.ModuleList(DoubleStreamBlock(*block_args) for _ in range(c.num_double_layers))
        self.single_blocks = nn.ModuleList(SingleStreamBlock(*block_args) for _ in range(c.num_single_layers))
        self.head = Head(c.dim, math.prod(c.patch_size) * c.vid_out_dim, c.eps)
        self.head_audio = Head(c.dim, c.audio_out_dim, c.eps)

    @property
    def dtype(self) -> torch.dtype:
        """The run dtype (that of the weights)."""
        return self.patch_embedding.weight.dtype

    def video_grid(self, video: torch.Tensor) -> tuple[int, int, int]:
        """(F, H', W') token grid of a [B, C, F, H, W] latent."""
        f, h, w = video.shape[2:]
        p, q, r = self.config.patch_size
        return f // p, h // q, w // r

    def video_timesteps(self, t: torch.Tensor, video: torch.Tensor, clean_first_frame: bool) -> torch.Tensor:
        """Per-token timesteps [B, F*H'*W'] from t [B]; a clean first frame has t = 0 on its tokens."""
        f, h, w = self.video_grid(video)
        per_token = t[:, None].expand(-1, f * h * w).clone()
        if clean_first_frame:
            per_token[:, : h * w] = 0
        return per_token

    def embed_time(self, t: torch.Tensor, num_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        """t [B] or [B, L] -> (e [B, L, dim] for the head, e0 [B, L, 6, dim] for the blocks)."""
        if t.ndim == 1:
            t = t[:, None].expand(-1, num_tokens)
        if t.shape[1] != num_tokens:
            raise ValueError(f"{t.shape[1]} timesteps for {num_tokens} tokens")
        e = self.time_embedding(sinusoid(t, self.config.freq_dim).to(self.dtype))
        return e, self.time_projection(e).unflatten(-1, (6, self.config.dim))

    def embed_context(self, context: torch.Tensor, speaker: SpeakerSlots | None = None) -> torch.Tensor:
        """[B, L_text, text_dim] -> [B, text_len, dim], speaker tokens written over their rows."""
        embedded = self.text_embedding(context)
        if speaker is None:
            return embedded
        if not self.config.add_spk_emb:
            raise ValueError("this model has no speaker embedding (add_spk_emb is off)")
        tokens = self.speaker_embedding(speaker.embeddings).to(embedded.dtype)
        batch, slot = (speaker.positions >= 0).nonzero(as_tuple=True)
        return embedded.index_put((batch, speaker.positions[batch, slot]), tokens[batch, slot])

    def forward(
        self,
        video: torch.Tensor | None,
        audio: torch.Tensor | None,
        t_video: torch.Tensor | None,
        t_audio: torch.Tensor | None,
        context: torch.Tensor,
        speaker: SpeakerSlots | None = None,
        modality_mask: bool | torch.Tensor = False,
    ) -> AVPrediction:
        """Predict the flow-matching velocity of a video latent, an audio latent, or both.

        Args:
            video: [B, C_v, F, H, W] latent (C_v = 48, H and W divisible by 2), or None.
            audio: [B, L_a, C_a] latent, token-major (C_a = 128, 25 tokens/s), or None.
            t_video: timesteps on the 0..1000 scale, [B] or per token [B, F*H/2*W/2]
                (see :meth:`video_timesteps` for a clean first frame). Required with video.
            t_audio: [B] or [B, L_a]. Required with audio.
            context: [B, L_text <= text_len, text_dim] text encoder output (zero-padded here
                to text_len; padded rows are attended to). One context for both streams.
            speaker: speaker tokens to write into the context rows, or None (no rows written).
            modality_mask: True, or a [B] bool tensor, for samples whose self-attention is
                block-diagonal (video attends video only, audio audio only: the ALIGN pass).

        Returns:
            :class:`AVPrediction` with video [B, C_v, F, H, W] and audio [B, L_a, C_a] in the
            run dtype (None for a modality not given).
        """
        layout = TokenLayout(
            video_grid=None if video is None else self.video_grid(video),
            audio_len=0 if audio is None else audio.shape[1],
        )
        tokens, e, e0 = [], [], []
        if video is not None:
            tokens.append(self.patch_embedding(video))
            _append(self.embed_time(_require(t_video, "t_video"), layout.video_len), e, e0)
        if audio is not None:
            tokens.append(self.patch_embedding_audio(audio))
            _append(self.embed_time(_require(t_audio, "t_audio"), layout.audio_len), e, e0)
        x = torch.cat(tokens, dim=1)
        mask = torch.as_tensor(modality_mask, device=x.device).expand(x.shape[0])
        inputs = BlockInputs(
            layout=layout,
            e0=torch.cat(e0, dim=1),
            rope=joint_rope(layout, self.config.head_dim, self.config.temporal_rope_scaling_factor).to(x.device),
            context=self.embed_context(context, speaker),
            segment_ids=layout.segment_ids(mask),
        )
        parallel = self.sequence_parallel
        if parallel is not None:  # each rank keeps its slice of the sequence until the heads
            x, inputs = parallel.shard(x, inputs)
        for block in (*self.double_blocks, *self.single_blocks):
            x = block(x, inputs)
        if parallel is not None:
            x = parallel.gather(x)
        return self.heads(x, e, layout)

    def heads(self, x: torch.Tensor, e: list[torch.Tensor], layout: TokenLayout) -> AVPrediction:
        """Final residual stream -> per-modality outputs (``e``: each stream's [B, L, dim])."""
        outputs = {}
        for (stream, part), e_stream in zip(layout.split(x), e):
            if stream is Stream.VIDEO:
                video = self.head(part, e_stream)
                outputs[stream] = unpatchify(video, layout.video_grid, self.config.patch_size)
            else:
                outputs[stream] = self.head_audio(part, e_stream)
        return AVPrediction(video=outputs.get(Stream.VIDEO), audio=outputs.get(Stream.AUDIO))


def _require(t: torch.Tensor | None, name: str) -> torch.Tensor:
    if t is None:
        raise ValueError(f"{name} is required with that modality")
    return t


def _append(pair: tuple[torch.Tensor, torch.Tensor], e: list, e0: list) -> None:
    e.append(pair[0])
    e0.append(pair[1])
