"""A server at --vllm-url that answers 200 with something that is not a chat completion:
a reply without a caption falls back to the template caption; a body that is not an
OpenAI reply at all is one clear error for the run. A real HTTP server (starlette) answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from storyboard_project import cli, make_storyboard

from nava_director.captions.vllm import served_model
from nava_director.captions.write import write_captions
from nava_director.settings import Settings
from nava_director.errors import NavaError
from nava_director.storyboard.load import load_storyboard

COMPLETION = {"id": "x", "object": "chat.completion", "created": 0, "model": "m"}
NOT_OPENAI = {
    "text": (b"hello, not json", "text/plain"),
    "html": (b"<html><body>Sign in to the proxy</body></html>", "text/html"),
    "broken json": (b'{"choices": [', "application/json"),
    "empty body": (b"", "application/json"),
    "a list": (b"[1, 2]", "application/json"),
    "a string": (b'"caption"', "application/json"),
}
NO_CAPTION = {
    "no fields": (b"{}", "application/json"),
    "no choices": (json.dumps({**COMPLETION, "choices": []}).encode(), "application/json"),
    "null message": (json.dumps({**COMPLETION, "choices": [{"index": 0, "finish_reason": "stop", "message": None}]})
                     .encode(), "application/json"),
    "content a number": (json.dumps({**COMPLETION, "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": 5}}]}).encode(), "application/json"),
}
BODY = {"now": NOT_OPENAI["text"]}


@pytest.fixture(scope="module")
def url():
    async def answer(request):
        body, kind = BODY["now"]
        return Response(body, media_type=kind)

    app = Starlette(routes=[Route("/v1/chat/completions", answer, methods=["POST"]), Route("/v1/models", answer)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_storyboard(make_storyboard(tmp_path_factory.mktemp("sb")))


def _captions(url: str, loaded, cache: Path):
    settings = Settings(vllm_url=url, vllm_model="m", rewriter="vllm")
    return write_captions(loaded, ["b", "c"], settings=settings, cache_dir=cache)


@pytest.mark.parametrize("name", list(NOT_OPENAI))
def test_a_body_that_is_not_an_openai_reply_is_one_error(url, loaded, tmp_path, name):
    BODY["now"] = NOT_OPENAI[name]
    with pytest.raises(NavaError, match="answered with something that is not an OpenAI-compatible reply") as error:
        _captions(url, loaded, tmp_path)
    assert "--vllm-url" in error.value.hint and "\n" not in error.value.message
    with pytest.raises(NavaError, match="not an OpenAI-compatible reply"):
        served_model(url)


@pytest.mark.parametrize("name", list(NO_CAPTION))
def test_a_reply_without_a_caption_falls_back_to_the_template(url, loaded, tmp_path, name):
    BODY["now"] = NO_CAPTION[name]
    results = _captions(url, loaded, tmp_path)
    assert {r.writer for r in results.values()} == {"template"} and all(r.fallback for r in results.values())
    assert all(len(r.problems) == 3 for r in results.values())


def test_the_command_says_it_in_one_line(url, tmp_path):
    BODY["now"] = NOT_OPENAI["html"]
    sb = make_storyboard(tmp_path)
    done = cli("captions", str(sb), "--rewriter", "vllm", "--vllm-url", url, "--vllm-model", "m", check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 2, done.stderr
    assert done.stderr.splitlines()[0].startswith(f"error: the server at {url} answered with something")


def test_the_caption_cache_claims_the_project_or_stays_out_of_a_foreign_folder(url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from nava_director.cli import app
    from nava_director.project.folder import Project

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    BODY["now"] = NO_CAPTION["no choices"]  # a fallback caption: cached too
    sb = make_storyboard(tmp_path)
    flags = ["--rewriter", "vllm", "--vllm-url", url, "--vllm-model", "m"]
    assert CliRunner().invoke(app, ["captions", str(sb), *flags]).exit_code == 0
    assert Project(tmp_path / "sb.nava").is_project() and any((tmp_path / "sb.nava" / "captions").iterdir())
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert CliRunner().invoke(app, ["captions", str(sb), *flags, "--out", str(mine)]).exit_code == 0
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
