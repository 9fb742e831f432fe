"""A tiny Qwen3 for the rewriter's integration tests, built locally (no weights downloaded).

The model is a real ``Qwen3ForCausalLM`` (two layers, float32) with random weights and a
byte-level BPE tokenizer trained here with the ``tokenizers`` library, plus a Qwen-style
chat template whose generation prompt opens a ``<think>`` block, as Qwen3-Thinking's does.

One route through it is programmed: its decoder layers' output projections are zero, so the
next token depends only on the current one, and from the generation prompt's last token the
greedy path spells :data:`ROUTE` — a thought, ``</think>``, then a caption with the single
span :data:`ROUTE_SPAN`. Every other token leads somewhere random. So a server running it
answers a rewrite with reasoning to strip and a caption whose spans the guard can check.

Where a request constrains the reply (vLLM's structured outputs), the grammar masks the
route's next token and the greedy choice falls to the token ranked after it: the drafts
of ``nava-director write`` are programmed that way. Under the draft schema the reply can
not start with a thought, so it spells :data:`DRAFT_BAD` — a storyboard whose first line
is said by ``wang``, a character it never names — unless the schema forbids what that
draft says: with a cast (no ``characters`` key, ``who`` one of the cast) the same route
spells :data:`DRAFT_GOOD`, a valid two-shot storyboard for the cast ``lin``, ``chen``.

    python tests/tiny_qwen3.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
GENERATION_PROMPT_END = "<think>\n"
ROUTE_THOUGHT = "让我想一想"
ROUTE_SPAN = "你好"
ROUTE = [ROUTE_THOUGHT, "</think>", "画面里", "她轻声说：", "<S>", ROUTE_SPAN, "<E>", "<|im_end|>"]
ROUTE_CAPTION = "画面里她轻声说：<S>你好<E>"

# the drafts' pieces, each one token; BRANCHES: a token's successors, most preferred first
DRAFT_HEAD = '{"title":"重逢"'
DRAFT_CHARACTERS = ',"characters":[{"id":"lin","name":"林然","look":"短发女子"}]'
DRAFT_FIRST_SHOT = (',"scenes":[{"id":"beach","setting":"黄昏的海边","shots":[{"id":"arrival","duration":4,'
                    '"action":"林然望向大海","camera":{"size":"wide","move":"dolly-in"},"dialogue":[{"who":"')
DRAFT_TAIL = ('","line":"你好"}]},{"id":"reunion","duration":5,"action":"陈默走近",'
              '"dialogue":[{"who":"chen","line":"好久不见"}],"continue_from":"arrival",'
              '"uncertain":"要不要加一个特写"}]}]}')
DRAFT_BAD = DRAFT_HEAD + DRAFT_CHARACTERS + DRAFT_FIRST_SHOT + "wang" + DRAFT_TAIL
DRAFT_GOOD = DRAFT_HEAD + DRAFT_FIRST_SHOT + "lin" + DRAFT_TAIL
DRAFT_PIECES = [DRAFT_HEAD, DRAFT_CHARACTERS, DRAFT_FIRST_SHOT, "wang", "lin", DRAFT_TAIL]
BRANCHES = {
    DRAFT_HEAD: [DRAFT_CHARACTERS, DRAFT_FIRST_SHOT],
    DRAFT_CHARACTERS: [DRAFT_FIRST_SHOT],
    DRAFT_FIRST_SHOT: ["wang", "lin"],
    "wang": [DRAFT_TAIL],
    "lin": [DRAFT_TAIL],
    DRAFT_TAIL: ["<|im_end|>"],
}

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)

CORPUS = [
    "电影感写实风格，黄昏的海边，海浪拍岸，暖色逆光。林然独自站在海边，望向远方。",
    "镜头缓缓向前推进，平视角度拍摄。陈默从背后走近，林然转身。对白清晰自然。",
    "The camera slowly dollies in. A woman stands by the sea, looking into the distance.",
    "Rewrite the draft caption into dense Chinese. Keep every speech span verbatim.",
    '{"shot": "arrival", "duration": 6, "action": "...", "camera": {"size": "wide"}}',
]


def build_tokenizer(folder: Path) -> "PreTrainedTokenizerFast":  # noqa: F821
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    core.train_from_iterator(CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL})
    # the route's pieces and the markup are whole tokens, so the route never repeats one
    tokenizer.add_tokens(["<think>", "</think>", "<S>", "<E>", *ROUTE[:-1], *DRAFT_PIECES])
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    return tokenizer


def program_route(model, tokenizer) -> None:
    """Zero every layer's output, then make token ROUTE[i] predict ROUTE[i+1] (greedy), and
    every token of BRANCHES predict its successors in their order."""
    import torch

    ids = [tokenizer.convert_tokens_to_ids(t) for t in ROUTE]
    start = tokenizer(GENERATION_PROMPT_END)["input_ids"][-1]
    chain = [start, *ids]
    assert len(set(chain)) == len(chain), "the route must not repeat a token"
    successors: dict[int, list[int]] = {a: [b] for a, b in zip(chain, chain[1:])}
    successors[start].append(tokenizer.convert_tokens_to_ids(DRAFT_HEAD))  # when a thought is not allowed
    successors[tokenizer.convert_tokens_to_ids("</think>")].append(  # a grammar that starts after the thought
        tokenizer.convert_tokens_to_ids(DRAFT_HEAD))
    for piece, following in BRANCHES.items():
        successors[tokenizer.convert_tokens_to_ids(piece)] = [tokenizer.convert_tokens_to_ids(t) for t in following]
    assert len(successors) <= model.config.hidden_size
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embed = model.model.embed_tokens.weight
        head = model.lm_head.weight
        for slot, (current, following) in enumerate(successors.items()):
            embed[current] = 0.0
            embed[current, slot] = 1.0  # one axis per programmed token: RMSNorm keeps it one-hot
            for rank, token in enumerate(following):
                head[token, slot] = 10.0 - rank


def make_tiny_qwen3(folder: Path) -> Path:
    """Write the tiny model and its tokenizer to ``folder`` (an HF model folder)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(folder)
    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=8192,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        dtype="float32",
    )
    model = Qwen3ForCausalLM(config).to(torch.float32)
    program_route(model, tokenizer)
    model.save_pretrained(folder)
    (folder / "generation_config.json").write_text(
        json.dumps({"eos_token_id": config.eos_token_id, "pad_token_id": config.pad_token_id})
    )
    return folder


if __name__ == "__main__":
    print(make_tiny_qwen3(Path(sys.argv[1])))
