"""The transformers rewriter: the same prompt run by a local model in-process (the tiny
Qwen3 of tests/tiny_qwen3.py), through the same guard and cache as the vLLM rewriter."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_qwen3 import ROUTE_CAPTION, ROUTE_SPAN, make_tiny_qwen3

from nava_director.captions import write_captions
from nava_director.errors import InputError
from nava_director.settings import Settings
from nava_director.storyboard.load import LoadedStoryboard
from nava_director.storyboard.model import Storyboard


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    return str(make_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3")))


def board() -> LoadedStoryboard:
    shots = [{"id": "hello", "duration": 3, "dialogue": [{"who": "lin", "line": ROUTE_SPAN}]},
             {"id": "bye", "duration": 3, "dialogue": [{"who": "lin", "line": "再见"}]}]
    storyboard = Storyboard.model_validate({"characters": {"lin": {"name": "林然"}},
                                            "scenes": [{"id": "s", "shots": shots}]})
    return LoadedStoryboard(Path("sb.yaml"), storyboard, [])


def test_rewrites_through_the_guard_and_caches(tiny_model, tmp_path):
    settings = Settings(vllm_model=tiny_model)
    results = write_captions(board(), rewriter="transformers", settings=settings, cache_dir=tmp_path)
    assert (results["hello"].writer, results["hello"].caption) == ("transformers", ROUTE_CAPTION)
    assert (results["bye"].writer, results["bye"].requested, results["bye"].fallback) == \
        ("template", "transformers", True)
    assert "<S>再见<E>" in results["bye"].caption
    assert write_captions(board(), rewriter="transformers", settings=settings, cache_dir=tmp_path) == results


def test_a_model_folder_that_is_not_there_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot load the rewriter model"):
        write_captions(board(), rewriter="transformers", settings=Settings(vllm_model=str(tmp_path / "none")))
