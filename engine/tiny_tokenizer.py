"""A small umt5-like tokenizer trained on the spot, for tests and tiny engines.

The real umt5-xxl tokenizer cannot be downloaded here, so tiny engines ship one trained with
the ``tokenizers`` library: a Unigram model over a short built-in corpus of English and
Chinese caption text, with umt5's special-token layout (``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2),
EOS appended after every text, ``<S>``/``<E>`` kept whole, and ``<extra_id_0..N>``. It is
saved as a transformers folder that :func:`engine.text.load_tokenizer` reads (size a tiny
encoder's vocabulary to at least ``len(tokenizer)``)::

    from engine.tiny_tokenizer import build_tiny_tokenizer
    build_tiny_tokenizer(weights_dir / "google" / "umt5-xxl")  # -> tokenizer.json + tokenizer_config.json
"""

from __future__ import annotations

import string
from pathlib import Path

SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]
SPEECH_TOKENS = ["<S>", "<E>"]

CORPUS = """\
A woman in a red coat walks along a rainy street at night, neon signs reflecting in the puddles.
The camera slowly pushes in on her face. She says <S>We should have left an hour ago.<E>
A man answers quietly <S>I know. I am sorry.<E> Distant traffic, rain on the pavement, soft music.
Cinematic, warm light, shallow depth of field, 35mm film, handheld camera, wide shot, close-up.
一位穿着红色外套的女人在夜晚下雨的街道上行走，霓虹灯倒映在水坑里。镜头缓缓推近她的脸。
她说<S>我们一个小时前就该走了。<E>男人轻声回答<S>我知道，对不起。<E>远处的车流声，雨声，柔和的音乐。
电影感，温暖的光线，浅景深，手持镜头，全景，特写，对话，环境音，背景音乐，没有人说话。
"""


def build_tiny_tokenizer(folder: str | Path, vocab_size: int = 384, extra_ids: int = 8, corpus: str = CORPUS) -> Path:
    """Train and save the tokenizer in ``folder``; returns the folder. Deterministic for a corpus."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    extras = [f"<extra_id_{i}>" for i in range(extra_ids)]
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS + SPEECH_TOKENS + extras,
        unk_token="<unk>",
        initial_alphabet=list(string.ascii_letters + string.digits + string.punctuation),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus.splitlines(), trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tokenizer.token_to_id("</s>"))]
    )
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        additional_special_tokens=SPEECH_TOKENS + extras,
    )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(folder)
    return folder
