"""The umt5-xxl text encoder (transformers ``UMT5EncoderModel``) with NAVA's speech markup.

A caption marks speech as ``<S>words<E>``. Before tokenizing, ``<extra_id_2>`` is inserted
right after every ``<S>``; the positions of those tokens are the *speaker slots*, where the
DiT writes each speaker's embedding (in order of the spans).

Reads the HF folder (``config.json`` + weights + tokenizer) or Wan's original single-file
encoder ``models_t5_umt5-xxl-enc-bf16.pth`` (keys mapped here; :func:`to_original` maps back)
with the tokenizer folder beside it. Text is cleaned as the reference does (ftfy, HTML
unescape twice, whitespace collapsed; case kept), tokenized to 512 with EOS, padded with 0.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from engine.checkpoints import load_strict, read_state_dict
from engine.errors import EngineError, WeightsError
from engine.keymap import KeyMap

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, UMT5Config, UMT5EncoderModel

WHAT = "text encoder (models_t5_umt5-xxl-enc-bf16.pth)"
TEXT_LEN = 512
SPEECH_OPEN, SPEECH_CLOSE = "<S>", "<E>"
SPEAKER_TOKEN = "<extra_id_2>"

ORIGINAL_TO_HF = KeyMap(
    (
        (r"^token_embedding\.weight$", "shared.weight"),
        (r"^norm\.weight$", "encoder.final_layer_norm.weight"),
        (r"^blocks\.(\d+)\.norm1\.weight$", r"encoder.block.\1.layer.0.layer_norm.weight"),
        (r"^blocks\.(\d+)\.attn\.(q|k|v|o)\.weight$", r"encoder.block.\1.layer.0.SelfAttention.\2.weight"),
        (r"^blocks\.(\d+)\.pos_embedding\.embedding\.weight$", r"encoder.block.\1.layer.0.SelfAttention.relative_attention_bias.weight"),
        (r"^blocks\.(\d+)\.norm2\.weight$", r"encoder.block.\1.layer.1.layer_norm.weight"),
        (r"^blocks\.(\d+)\.ffn\.gate\.0\.weight$", r"encoder.block.\1.layer.1.DenseReluDense.wi_0.weight"),
        (r"^blocks\.(\d+)\.ffn\.fc1\.weight$", r"encoder.block.\1.layer.1.DenseReluDense.wi_1.weight"),
        (r"^blocks\.(\d+)\.ffn\.fc2\.weight$", r"encoder.block.\1.layer.1.DenseReluDense.wo.weight"),
    )
)  # fmt: skip

HF_TO_ORIGINAL = KeyMap(
    (
        (r"^shared\.weight$", "token_embedding.weight"),
        (r"^encoder\.final_layer_norm\.weight$", "norm.weight"),
        (r"^encoder\.block\.(\d+)\.layer\.0\.layer_norm\.weight$", r"blocks.\1.norm1.weight"),
        (r"^encoder\.block\.(\d+)\.layer\.0\.SelfAttention\.(q|k|v|o)\.weight$", r"blocks.\1.attn.\2.weight"),
        (r"^encoder\.block\.(\d+)\.layer\.0\.SelfAttention\.relative_attention_bias\.weight$", r"blocks.\1.pos_embedding.embedding.weight"),
        (r"^encoder\.block\.(\d+)\.layer\.1\.layer_norm\.weight$", r"blocks.\1.norm2.weight"),
        (r"^encoder\.block\.(\d+)\.layer\.1\.DenseReluDense\.wi_0\.weight$", r"blocks.\1.ffn.gate.0.weight"),
        (r"^encoder\.block\.(\d+)\.layer\.1\.DenseReluDense\.wi_1\.weight$", r"blocks.\1.ffn.fc1.weight"),
        (r"^encoder\.block\.(\d+)\.layer\.1\.DenseReluDense\.wo\.weight$", r"blocks.\1.ffn.fc2.weight"),
    ),
    select=r"^(?!encoder\.embed_tokens\.)",  # tied to shared.weight; the original stores it once
)  # fmt: skip


def to_original(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A ``UMT5EncoderModel`` state dict in the key layout of Wan's ``.pth``."""
    return HF_TO_ORIGINAL.apply(state)


def umt5_config(**config) -> UMT5Config:
    """A ``UMT5Config`` as Wan's encoder is built (gated-gelu, eps 1e-6, 32 buckets up to 128 apart)."""
    from transformers import UMT5Config

    defaults = dict(
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.0,
        layer_norm_epsilon=1e-6,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        pad_token_id=0,
        eos_token_id=1,
    )
    return UMT5Config(**{**defaults, **config})


def config_from_original(state: Mapping[str, torch.Tensor]) -> UMT5Config:
    """The ``UMT5Config`` of an original-layout state dict, read from its shapes."""
    try:
        vocab, dim = state["token_embedding.weight"].shape
        buckets, heads = state["blocks.0.pos_embedding.embedding.weight"].shape
        attn_dim = state["blocks.0.attn.q.weight"].shape[0]
        ffn = state["blocks.0.ffn.fc1.weight"].shape[0]
    except KeyError as exc:
        raise WeightsError(f"{WHAT}: not a umt5 encoder state dict (no {exc})") from exc
    layers = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    return umt5_config(
        vocab_size=vocab,
        d_model=dim,
        d_kv=attn_dim // heads,
        d_ff=ffn,
        num_layers=layers,
        num_heads=heads,
        relative_attention_num_buckets=buckets,
    )


def clean_text(text: str) -> str:
    """The reference's cleaning: ftfy, HTML unescaped twice, whitespace collapsed (case kept)."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text)))
    return re.sub(r"\s+", " ", text).strip()


def mark_speakers(text: str) -> str:
    """Insert the speaker token right after every ``<S>``."""
    return text.replace(SPEECH_OPEN, SPEECH_OPEN + SPEAKER_TOKEN)


@dataclass(frozen=True)
class Tokens:
    ids: torch.Tensor  # [B, 512] int64, EOS appended, padded with 0
    mask: torch.Tensor  # [B, 512] int64, 1 on real tokens (EOS included)
    speaker_slots: list[list[int]]  # per prompt: positions of the speaker tokens, in order


@dataclass(frozen=True)
class EncodedText:
    context: torch.Tensor  # [L, dim]: the encoder output trimmed to the true length (EOS included)
    speaker_slots: list[int]  # token positions (rows of ``context``) of each speech span's speaker


class TextEncoder:
    """Tokenize and encode captions; :meth:`encode` is what the pipeline calls."""

    def __init__(self, model: UMT5EncoderModel, tokenizer: PreTrainedTokenizerBase, text_len: int = TEXT_LEN):
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.text_len = text_len
        self.speaker_token_id = tokenizer.convert_tokens_to_ids(SPEAKER_TOKEN)
        if self.speaker_token_id is None or self.speaker_token_id == tokenizer.unk_token_id:
            raise WeightsError(f"the tokenizer has no {SPEAKER_TOKEN} token", hint="use the umt5-xxl tokenizer")

    @property
    def device(self) -> torch.device:
        return self.model.device

    @classmethod
    def from_file(cls, path: str | Path, tokenizer: str | Path, dtype=torch.bfloat16, device="cpu") -> TextEncoder:
        """Wan's original encoder ``.pth`` plus a tokenizer folder (e.g. ``google/umt5-xxl``)."""
        from transformers import UMT5EncoderModel

        original = read_state_dict(path, WHAT)
        with torch.device("meta"):
            model = UMT5EncoderModel(config_from_original(original))
        state = ORIGINAL_TO_HF.apply(original)
        state["encoder.embed_tokens.weight"] = state.get("shared.weight")
        load_strict(model, state, WHAT, path, dtype=dtype)
        model.set_input_embeddings(model.shared)
        return cls(model.to(device), load_tokenizer(tokenizer))

    @classmethod
    def from_config(cls, tokenizer: str | Path, dtype=torch.float32, device="cpu", **config) -> TextEncoder:
        """A randomly initialised encoder (tiny test engines), e.g. ``d_model=32, num_layers=2``.

        ``vocab_size`` defaults to the tokenizer's size."""
        from transformers import UMT5EncoderModel

        tok = load_tokenizer(tokenizer)
        config.setdefault("vocab_size", len(tok))
        return cls(UMT5EncoderModel(umt5_config(**config)).to(device=device, dtype=dtype), tok)

    @classmethod
    def from_pretrained(cls, folder: str | Path, dtype=torch.bfloat16, device="cpu", tokenizer=None) -> TextEncoder:
        """A transformers ``UMT5EncoderModel`` folder; the tokenizer from ``tokenizer`` or the same folder."""
        from transformers import UMT5EncoderModel

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise WeightsError(f"text encoder: {folder} is not a transformers folder (no config.json)")
        try:
            model = UMT5EncoderModel.from_pretrained(folder, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise WeightsError(f"text encoder: cannot load {folder}: {exc}") from exc
        return cls(model.to(device), load_tokenizer(tokenizer or folder))

    @classmethod
    def load(
        cls, path: str | Path, tokenizer: str | Path | None = None, dtype=torch.bfloat16, device="cpu"
    ) -> TextEncoder:
        """A transformers folder, or the original ``.pth`` (which needs ``tokenizer``)."""
        if Path(path).is_dir():
            return cls.from_pretrained(path, dtype, device, tokenizer)
        if tokenizer is None:
            raise WeightsError(f"text encoder: {path} needs its tokenizer folder (google/umt5-xxl)")
        return cls.from_file(path, tokenizer, dtype, device)

    def save_original(self, path: str | Path) -> None:
        """Write the weights as Wan releases them: a plain ``{original_key: tensor}`` ``.pth``."""
        torch.save({k: v.contiguous() for k, v in to_original(self.model.state_dict()).items()}, path)

    def tokenize(self, captions: list[str]) -> Tokens:
        texts = [mark_speakers(clean_text(c)) for c in captions]
        batch = self.tokenizer(
            texts,
            padding="max_length",
            truncation=True,
            max_length=self.text_len,
            add_special_tokens=True,
            return_tensors="pt",
        )
        ids, mask = batch["input_ids"], batch["attention_mask"]
        slots = [torch.nonzero(row == self.speaker_token_id).flatten().tolist() for row in ids]
        for text, found in zip(texts, slots):
            if len(found) != text.count(SPEECH_OPEN):
                raise EngineError(
                    f"caption longer than {self.text_len} tokens: speech span {len(found) + 1} was cut off",
                    hint="shorten the caption",
                )
        return Tokens(ids, mask, slots)

    @torch.no_grad()
    def hidden_states(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, L]`` ids and key mask -> ``[B, L, dim]`` (every row, padded ones included)."""
        out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device))
        return out.last_hidden_state

    def encode(self, captions: list[str]) -> list[EncodedText]:
        """Each caption -> its context ``[L_i, dim]`` (true length, EOS included) and speaker slots."""
        tokens = self.tokenize(captions)
        hidden = self.hidden_states(tokens.ids, tokens.mask)
        lengths = tokens.mask.sum(dim=1).tolist()
        return [EncodedText(h[:n], s) for h, n, s in zip(hidden, lengths, tokens.speaker_slots)]


def load_tokenizer(folder: str | Path) -> PreTrainedTokenizerBase:
    """A tokenizer folder (sentencepiece ``spiece.model`` or ``tokenizer.json``)."""
    from transformers import AutoTokenizer

    folder = Path(folder)
    if not folder.is_dir():
        raise WeightsError(
            f"text tokenizer: no folder at {folder}", hint="the umt5-xxl tokenizer folder (google/umt5-xxl)"
        )
    try:
        return AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise WeightsError(f"text tokenizer: cannot load {folder}: {exc}") from exc
