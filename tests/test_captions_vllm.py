"""The vLLM rewriter against a REAL vLLM server (one start for the test session: conftest.py).

The server runs from vLLM's own venv (``scripts/setup_vllm.sh`` makes ``.venv-vllm``) and
serves a tiny random Qwen3 built here (``tests/tiny_qwen3.py``) whose one programmed greedy
route answers every rewrite with a thought, ``</think>``, then a caption saying ``你好``.
So: a shot that says 你好 gets the model's caption, its thinking stripped; every other shot
gets the model's wrong speech, which the guard rejects, retries and replaces with the
template caption. Under CI a missing venv fails the test rather than skipping it.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from tiny_qwen3 import ROUTE_CAPTION, ROUTE_SPAN, ROUTE_THOUGHT

from nava_director.captions import write_captions
from nava_director.captions.brief import shot_briefs
from nava_director.captions.guard import RETRIES
from nava_director.captions.template import write_template
from nava_director.captions.vllm import VllmRewriter, served_model
from nava_director.captions.write import rewrite_all
from nava_director.settings import Settings
from nava_director.storyboard.load import LoadedStoryboard
from nava_director.storyboard.model import Storyboard

pytestmark = pytest.mark.slow


def storyboard(lines: list[str | None]) -> LoadedStoryboard:
    """One shot per entry: the line 林然 says in it, or a silent shot for None."""
    shots = [{"id": f"s{i}", "duration": 3, "action": "林然望向海面",
              "dialogue": [{"who": "lin", "line": line}] if line else []} for i, line in enumerate(lines)]
    board = Storyboard.model_validate({"characters": {"lin": {"name": "林然", "look": "短发"}},
                                       "scenes": [{"id": "beach", "setting": "黄昏的海边", "shots": shots}]})
    return LoadedStoryboard(Path("sb.yaml"), board, [])


def test_request_response_and_thinking_strip(tiny_vllm, tiny_model):
    from openai import OpenAI

    assert served_model(tiny_vllm.url) == tiny_model
    raw = OpenAI(base_url=f"{tiny_vllm.url}/v1", api_key="EMPTY").chat.completions.create(
        model=tiny_model, messages=[{"role": "user", "content": "改写"}], max_tokens=32, temperature=0)
    assert ROUTE_THOUGHT in raw.choices[0].message.content  # the server sends the thinking along

    brief = shot_briefs(storyboard([ROUTE_SPAN]).storyboard)[0]
    rewriter = VllmRewriter(tiny_vllm.url, tiny_model)
    caption = asyncio.run(rewriter.rewrite(brief, write_template(brief)))
    assert caption == ROUTE_CAPTION and ROUTE_THOUGHT not in caption and "think>" not in caption


def test_many_shots_at_once_with_bounded_concurrency(tiny_vllm, tiny_model):
    briefs = shot_briefs(storyboard([ROUTE_SPAN] * 6).storyboard)
    rewriter = VllmRewriter(tiny_vllm.url, tiny_model, concurrency=3)
    jobs = [(brief, write_template(brief), f"key-{brief.shot_id}") for brief in briefs]
    started = time.monotonic()
    results = asyncio.run(rewrite_all(rewriter, jobs, "vllm"))
    print(f"6 rewrites, 3 at a time: {time.monotonic() - started:.2f} s")
    assert rewriter.peak_in_flight == 3
    assert [r.caption for r in results] == [ROUTE_CAPTION] * 6
    assert [r.key for r in results] == [f"key-{b.shot_id}" for b in briefs]


def test_guard_falls_back_on_the_models_wrong_speech_and_the_cache_answers_next_time(tiny_vllm, tiny_model, tmp_path):
    board = storyboard([ROUTE_SPAN, "再见。", None, f"{ROUTE_SPAN}！"])
    settings = Settings(vllm_url=tiny_vllm.url, vllm_model=tiny_model)
    results = write_captions(board, settings=settings, cache_dir=tmp_path)

    kept = results["s0"]
    assert (kept.writer, kept.requested, kept.fallback, kept.caption) == ("vllm", "vllm", False, ROUTE_CAPTION)
    templates = {b.shot_id: write_template(b) for b in shot_briefs(board.storyboard)}
    for shot_id in ("s1", "s2", "s3"):
        result = results[shot_id]
        assert (result.writer, result.requested, result.fallback) == ("template", "vllm", True)
        assert result.caption == templates[shot_id]
        assert len(result.problems) == 1 + RETRIES and all(ROUTE_SPAN in p for p in result.problems)

    assert len(list(tmp_path.glob("*.json"))) == 4
    offline = Settings(vllm_url="http://127.0.0.1:9", vllm_model=tiny_model)  # nothing to ask
    assert write_captions(board, settings=offline, cache_dir=tmp_path) == results


def test_the_cli_starts_its_own_server_for_a_model_and_stops_it(tiny_model, vllm_python, tmp_path):
    import json
    import shutil
    import subprocess
    import sys

    import psutil

    model = shutil.copytree(tiny_model, tmp_path / "own-model")  # its own path: its server is told apart
    sb = tmp_path / "sb.yaml"
    sb.write_text(
        "characters: {lin: {name: 林然}}\n"
        "scenes:\n"
        "  - id: beach\n"
        "    shots:\n"
        f"      - {{id: s0, duration: 3, dialogue: [{{who: lin, line: {ROUTE_SPAN}}}]}}\n",
        encoding="utf-8",
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NAVA_VLLM_PYTHON": str(vllm_python),
           "VLLM_CPU_KVCACHE_SPACE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", "from nava_director.cli import main; main()", "captions", str(sb),
         "--rewriter", "vllm", "--vllm-model", str(model), "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = json.loads(done.stdout)
    assert (row["writer"], row["fallback"], row["caption"]) == ("vllm", False, ROUTE_CAPTION)
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"]) if str(model) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []  # the server it started is gone with it
