"""The umt5 text encoder against Wan's original encoder (fixtures/components/umt5_tiny_enc.*)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from engine.errors import EngineError, WeightsError
from engine.text import ORIGINAL_TO_HF, SPEAKER_TOKEN, TextEncoder, clean_text, load_tokenizer, to_original
from engine.tiny_tokenizer import build_tiny_tokenizer
from tests.conftest import COMPONENTS

ATOL = 1e-5  # the fixture's tolerance: exact-GELU instead of tanh-GELU would be off by 8e-4
PTH = COMPONENTS / "umt5_tiny_enc.pth"


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return build_tiny_tokenizer(tmp_path_factory.mktemp("umt5-xxl"))


@pytest.fixture(scope="module")
def encoder(tokenizer_dir) -> TextEncoder:
    return TextEncoder.from_file(PTH, tokenizer_dir, dtype=torch.float32)


@pytest.fixture(scope="module")
def io() -> dict[str, torch.Tensor]:
    return load_file(COMPONENTS / "umt5_tiny_enc.safetensors")


def test_masked_forward_matches_reference(encoder, io):
    hidden = encoder.hidden_states(io["in.ids"], io["in.mask"])
    torch.testing.assert_close(hidden, io["out.hidden"], atol=ATOL, rtol=0)
    length = int(io["in.mask"].sum())
    torch.testing.assert_close(hidden[0, :length], io["out.hidden_trimmed"][0], atol=ATOL, rtol=0)


def test_config_read_from_the_file(encoder):
    config = encoder.model.config
    assert (config.vocab_size, config.d_model, config.num_layers, config.num_heads, config.d_ff) == (300, 32, 2, 4, 64)
    assert config.feed_forward_proj == "gated-gelu" and config.layer_norm_epsilon == 1e-6


def test_key_map_matches_the_verified_mapping_both_ways(encoder):
    described = json.loads((COMPONENTS / "umt5_tiny_enc.json").read_text())["state_dict"]
    for original, entry in described.items():
        assert ORIGINAL_TO_HF.rename(original) == entry["transformers_key"]
    assert set(to_original(encoder.model.state_dict())) == set(described)


def test_written_release_file_round_trips(tmp_path, tokenizer_dir, io):
    torch.manual_seed(0)
    tiny = TextEncoder.from_config(tokenizer_dir, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_heads=4)
    tiny.save_original(tmp_path / "models_t5_umt5-xxl-enc-bf16.pth")
    again = TextEncoder.from_file(tmp_path / "models_t5_umt5-xxl-enc-bf16.pth", tokenizer_dir, dtype=torch.float32)
    ids, mask = io["in.ids"] % len(again.tokenizer), io["in.mask"]
    torch.testing.assert_close(again.hidden_states(ids, mask), tiny.hidden_states(ids, mask))


def test_cleaning_keeps_case_and_collapses_whitespace():
    assert clean_text("  Tom &amp;amp;  Jerry\n\tsay <S>Hi<E>  ") == "Tom & Jerry say <S>Hi<E>"


def test_tokens_end_with_eos_and_pad_with_zero(encoder):
    tokens = encoder.tokenize(["a woman walks"])
    length = int(tokens.mask.sum())
    assert tokens.ids.shape == (1, 512)
    assert tokens.ids[0, length - 1] == encoder.tokenizer.eos_token_id == 1
    assert tokens.ids[0, length:].eq(0).all() and tokens.mask[0, length:].eq(0).all()


def test_speaker_slots_follow_each_speech_span(encoder):
    tokens = encoder.tokenize(["She says <S>we should go<E> and he says <S>I know<E>."])
    slots = tokens.speaker_slots[0]
    assert len(slots) == 2
    opened = encoder.tokenizer.convert_tokens_to_ids("<S>")
    for slot in slots:
        assert encoder.tokenizer.convert_ids_to_tokens(int(tokens.ids[0, slot])) == SPEAKER_TOKEN
        assert tokens.ids[0, slot - 1] == opened


def test_encode_trims_to_the_true_length(encoder):
    first, second = encoder.encode(["a man says <S>hello<E>", "rain"])
    for encoded, caption in ((first, "a man says <S>hello<E>"), (second, "rain")):
        length = int(encoder.tokenize([caption]).mask.sum())
        assert encoded.context.shape == (length, 32)
    assert len(first.speaker_slots) == 1 and second.speaker_slots == []
    full = encoder.hidden_states(*(lambda t: (t.ids, t.mask))(encoder.tokenize(["rain"])))
    torch.testing.assert_close(second.context, full[0, : second.context.shape[0]])


def test_missing_files_are_weights_errors(tmp_path, tokenizer_dir):
    with pytest.raises(WeightsError, match="no file"):
        TextEncoder.from_file(tmp_path / "missing.pth", tokenizer_dir)
    with pytest.raises(WeightsError, match="tokenizer"):
        TextEncoder.from_file(PTH, tmp_path / "no-tokenizer")
    with pytest.raises(WeightsError, match="not a umt5"):
        TextEncoder.from_file(COMPONENTS / "wan22_vae_tiny.pth", tokenizer_dir)


def test_tokenizer_without_speaker_token_is_refused(tmp_path):
    plain = build_tiny_tokenizer(tmp_path / "plain", extra_ids=0)
    assert SPEAKER_TOKEN not in load_tokenizer(plain).get_vocab()
    with pytest.raises(WeightsError, match=SPEAKER_TOKEN):
        TextEncoder.from_file(PTH, plain)


def test_a_speech_span_cut_off_at_512_tokens_is_an_error(encoder):
    caption = "rain " * 600 + "<S>too late<E>"
    with pytest.raises(EngineError, match="cut off"):
        encoder.tokenize([caption])


def test_load_picks_the_format(tokenizer_dir, tmp_path):
    assert TextEncoder.load(PTH, tokenizer_dir, dtype=torch.float32).model.config.d_model == 32
    with pytest.raises(WeightsError, match="tokenizer"):
        TextEncoder.load(PTH)
    encoder = TextEncoder.from_file(PTH, tokenizer_dir, dtype=torch.float32)
    encoder.model.save_pretrained(tmp_path / "umt5")
    encoder.tokenizer.save_pretrained(tmp_path / "umt5")
    again = TextEncoder.load(tmp_path / "umt5", dtype=torch.float32)
    ids, mask = encoder.tokenize(["a quiet room"]).ids, encoder.tokenize(["a quiet room"]).mask
    torch.testing.assert_close(again.hidden_states(ids, mask), encoder.hidden_states(ids, mask))
