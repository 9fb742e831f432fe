"""A tiny Whisper for the words check's tests, built locally (no weights downloaded).

A real ``WhisperForConditionalGeneration`` (one encoder and one decoder layer, random
weights) with a byte-level tokenizer (the 256 byte symbols, no merges) and Whisper's
special tokens, saved with its processor in the transformers format the check loads. Its
transcripts are nonsense: enough to drive the check's whole path, never to pass it.

    python tests/tiny_whisper.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SPECIAL = ["<|startoftranscript|>", "<|en|>", "<|zh|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>",
           "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]  # fmt: skip
END = "<|endoftext|>"


def byte_symbols() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for bytes (GPT-2's table)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    table = {b: chr(b) if b in printable else chr(next(extra)) for b in range(256)}
    return [table[b] for b in range(256)]


def make_tiny_whisper(folder: Path) -> Path:
    import torch
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({s: i for i, s in enumerate(byte_symbols())}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = WhisperTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), unk_token=END,
                                 bos_token=END, eos_token=END, pad_token=END)  # fmt: skip
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL})
    ids = {s: tokenizer.convert_tokens_to_ids(s) for s in [END, *SPECIAL]}
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=80, d_model=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
        max_source_positions=1500, max_target_positions=128, pad_token_id=ids[END], bos_token_id=ids[END],
        eos_token_id=ids[END], decoder_start_token_id=ids["<|startoftranscript|>"],
    )  # fmt: skip
    model = WhisperForConditionalGeneration(config)
    generation = model.generation_config
    generation.no_timestamps_token_id = ids["<|notimestamps|>"]
    generation.lang_to_id = {"<|en|>": ids["<|en|>"], "<|zh|>": ids["<|zh|>"]}
    generation.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    generation.is_multilingual = True
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer).save_pretrained(folder)
    return folder


if __name__ == "__main__":
    print(make_tiny_whisper(Path(sys.argv[1])))
