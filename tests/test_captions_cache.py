"""The caption cache and the writer choice: captions/<hash>.json keyed by (writer, model,
prompt version, shot inputs); a run with nothing changed asks no LLM; `auto` keeps a
project's recorded writer."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from nava_director.captions import CaptionResult, choose_writer, write_captions
from nava_director.captions.brief import shot_briefs
from nava_director.captions.cache import CaptionCache, caption_key
from nava_director.captions.prompt import PROMPT_VERSION
from nava_director.captions.template import TEMPLATE_VERSION
from nava_director.captions.write import REWRITE_VERSION, plan_writer
from nava_director.errors import InputError, NavaError
from nava_director.settings import Settings
from nava_director.storyboard.load import LoadedStoryboard
from nava_director.storyboard.model import Storyboard

DEAD_URL = "http://127.0.0.1:9"  # nothing listens there: any request would fail


def loaded(action: str = "林然转身", look: str = "短发") -> LoadedStoryboard:
    storyboard = Storyboard.model_validate({
        "characters": {"lin": {"name": "林然", "look": look}},
        "scenes": [{"id": "s", "setting": "海边", "shots": [
            {"id": "a", "duration": 4, "action": action, "dialogue": [{"who": "lin", "line": "你好"}]},
            {"id": "b", "duration": 3, "action": "海浪拍岸"},
        ]}],
    })
    return LoadedStoryboard(Path("sb.yaml"), storyboard, [])


def shot(board: LoadedStoryboard, index: int = 0) -> dict:
    return shot_briefs(board.storyboard)[index].as_dict()


def test_key_changes_with_each_input_and_only_then():
    base = caption_key("vllm", "qwen", PROMPT_VERSION, shot(loaded()))
    assert base == caption_key("vllm", "qwen", PROMPT_VERSION, shot(loaded()))
    assert len({
        base,
        caption_key("transformers", "qwen", PROMPT_VERSION, shot(loaded())),
        caption_key("vllm", "qwen-2", PROMPT_VERSION, shot(loaded())),
        caption_key("vllm", "qwen", "rewriter-v0", shot(loaded())),
        caption_key("vllm", "qwen", PROMPT_VERSION, shot(loaded(action="林然回头"))),
        caption_key("vllm", "qwen", PROMPT_VERSION, shot(loaded(look="长发"))),  # the cast's look
        caption_key("vllm", "qwen", PROMPT_VERSION, shot(loaded(), 1)),
    }) == 7


def test_round_trip_in_the_project_folder(tmp_path):
    cache = CaptionCache(tmp_path / "captions")
    result = CaptionResult("画面<S>你好<E>", "template", "vllm", True, "k" * 32, ("bad spans",))
    assert cache.get(result.key) is None
    cache.put(result)
    assert json.loads((tmp_path / "captions" / f"{'k' * 32}.json").read_text())["fallback"] is True
    assert cache.get(result.key) == result
    (tmp_path / "captions" / f"{'k' * 32}.json").write_text("{not json")
    assert cache.get(result.key) is None  # damaged: written again by the next run
    assert CaptionCache(None).get(result.key) is None


def rewritten(board: LoadedStoryboard, model: str) -> dict[str, CaptionResult]:
    """What an earlier vLLM run would have cached for ``board``'s shots."""
    out = {}
    for brief in shot_briefs(board.storyboard):
        key = caption_key("vllm", model, REWRITE_VERSION, brief.as_dict())
        out[brief.shot_id] = CaptionResult(f"重写的{brief.shot_id}" + "".join(f"<S>{s}<E>" for s in brief.spans),
                                           "vllm", "vllm", False, key)
    return out


def test_a_run_with_nothing_changed_asks_no_llm(tmp_path):
    settings = Settings(vllm_url=DEAD_URL, vllm_model="qwen")
    cache = CaptionCache(tmp_path)
    earlier = rewritten(loaded(), "qwen")
    for result in earlier.values():
        cache.put(result)
    assert write_captions(loaded(), settings=settings, cache_dir=tmp_path) == earlier
    # one shot edited: only it is asked for, and the server is unreachable
    with pytest.raises(NavaError, match="cannot reach the vLLM server"):
        write_captions(loaded(action="林然回头"), settings=settings, cache_dir=tmp_path)


def test_a_server_url_alone_keeps_the_recorded_model_and_asks_nothing(tmp_path):
    # the project's captions were written by "qwen" at a server that is down now: nothing is missing,
    # so nothing (not even the model list) is asked of it
    cache = CaptionCache(tmp_path)
    earlier = rewritten(loaded(), "qwen")
    for result in earlier.values():
        cache.put(result)
    settings = Settings(vllm_url=DEAD_URL)
    found = write_captions(loaded(), settings=settings, cache_dir=tmp_path, recorded_writer="vllm",
                           recorded_model="qwen")
    assert found == earlier
    with pytest.raises(NavaError, match="cannot reach the vLLM server"):  # without the record it must ask
        write_captions(loaded(), settings=settings, cache_dir=tmp_path, recorded_writer="vllm")


def test_plan_writer_says_what_a_new_writer_renders_again():
    kept = plan_writer("auto", Settings(vllm_url=DEAD_URL), "template", ["a", "b"])
    assert (kept.writer, kept.renders_again) == ("template", ())
    changed = plan_writer("vllm", Settings(vllm_url=DEAD_URL), "template", ["a", "b"])
    assert (changed.writer, changed.recorded, changed.renders_again) == ("vllm", "template", ("a", "b"))
    assert plan_writer("vllm", Settings(), None, []).renders_again == ()  # a new project re-renders nothing


def test_template_captions_carry_a_key_and_need_no_server(tmp_path):
    results = write_captions(loaded(), rewriter="template", settings=Settings(vllm_url=DEAD_URL), cache_dir=tmp_path)
    assert [r.writer for r in results.values()] == ["template", "template"]
    assert results["a"].key == caption_key("template", None, TEMPLATE_VERSION, shot(loaded()))
    assert "<S>你好<E>" in results["a"].caption


def test_only_the_named_shots_and_unknown_ones_are_an_input_error():
    assert list(write_captions(loaded(), ["b"])) == ["b"]
    with pytest.raises(InputError, match="no shot 'zz'"):
        write_captions(loaded(), ["zz"])


@pytest.mark.parametrize("requested,settings,recorded,writer", [
    ("auto", Settings(), None, "template"),
    ("auto", Settings(vllm_url="http://h:8000"), None, "vllm"),
    ("auto", Settings(vllm_model="/models/qwen3"), None, "vllm"),
    ("auto", Settings(vllm_url="http://h:8000"), "template", "template"),  # a project keeps its writer
    ("auto", Settings(), "vllm", "vllm"),
    ("template", Settings(vllm_url="http://h:8000"), "vllm", "template"),  # explicit changes it
    ("transformers", Settings(), None, "transformers"),
])
def test_choose_writer(requested, settings, recorded, writer):
    assert choose_writer(requested, settings, recorded)[0] == writer


def test_settings_rewriter_is_the_default_and_unknown_writers_are_refused():
    with pytest.raises(InputError, match="transformers rewriter needs a local model"):
        write_captions(loaded(), settings=replace(Settings(), rewriter="transformers"))
    with pytest.raises(InputError, match="unknown caption writer"):
        choose_writer("gpt", Settings())


def test_cached_only_asks_nothing_and_leaves_out_what_is_not_cached(tmp_path):
    cache = CaptionCache(tmp_path)
    earlier = rewritten(loaded(), "qwen")
    cache.put(earlier["a"])
    settings = Settings(vllm_url=DEAD_URL, vllm_model="qwen")
    assert write_captions(loaded(), settings=settings, cache_dir=tmp_path, cached_only=True) == {"a": earlier["a"]}
    # the model is known only to the (dead) server: nothing can be looked up, nothing is asked
    assert write_captions(loaded(), settings=Settings(vllm_url=DEAD_URL), cache_dir=tmp_path, cached_only=True) == {}
