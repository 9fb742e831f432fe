"""`write` against a REAL vLLM server with the tiny Qwen3 (the session's one server: conftest.py).

The tiny model is programmed (``tests/tiny_qwen3.py``) so that under the draft schema it
spells :data:`DRAFT_GOOD` when a cast is given and :data:`DRAFT_BAD` — schema-valid, but its
first line is said by a character it never names — when not. The command talks to the
server through a recording proxy, so the tests see what was sent back to the model.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT
from tiny_qwen3 import DRAFT_BAD, DRAFT_GOOD

from nava_director.authoring.draft import storyboard_yaml
from nava_director.authoring.schema import DraftStoryboard, draft_schema
from nava_director.authoring.write import Round, to_draft, write_storyboard
from nava_director.storyboard.load import load_storyboard

IDEA = "两个老朋友在海边重逢"
BAD_LINES = ["scenes[0].shots[0].dialogue[0].who: 'wang' is not in the cast (known: lin)",
             "scenes[0].shots[1].dialogue[0].who: 'chen' is not in the cast (known: lin)"]


class Recorder:
    """An HTTP proxy in front of the server that keeps every chat request's JSON body."""

    def __init__(self, upstream: str):
        self.requests: list[dict] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def forward(self, body: bytes | None) -> None:
                request = urllib.request.Request(upstream + self.path, data=body, method=self.command,
                                                 headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=600) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, payload = error.code, error.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                self.forward(None)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path.endswith("/chat/completions"):
                    recorder.requests.append(json.loads(body))
                self.forward(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def recorder(tiny_vllm):
    proxy = Recorder(tiny_vllm.url)
    yield proxy
    proxy.close()


def write_cli(*args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "XDG_CONFIG_HOME": "/nonexistent"}
    command = [sys.executable, "-c", "from nava_director.cli import main; main()", "write", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def cast_folder(folder: Path) -> Path:
    shutil.copytree(ROOT / "storyboards" / "voices", folder / "voices")
    shutil.copy(ROOT / "storyboards" / "cast.yaml", folder / "cast.yaml")
    return folder / "cast.yaml"


# -- with the real server -------------------------------------------------------------------


@pytest.mark.slow
def test_the_programmed_draft_becomes_a_valid_storyboard(recorder, tiny_model, tmp_path):
    cast = cast_folder(tmp_path)
    story = tmp_path / "story.yaml"
    done = write_cli(IDEA, str(story), "--cast", str(cast), "--shots", "2", "--temperature", "0",
                     "--vllm-url", recorder.url, "--vllm-model", tiny_model, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and [r["problems"] for r in report["rounds"]] == [[]]

    (request,) = recorder.requests
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema == draft_schema(2, ["chen", "lin"])  # the cast's ids, no characters to draft
    assert request["messages"][-1]["content"].startswith(f"Idea: {IDEA}")

    loaded = load_storyboard(story)  # what `validate` runs
    board = loaded.storyboard
    assert [shot.id for _, shot in board.shots()] == ["arrival", "reunion"]
    arrival, reunion = board.scenes[0].shots
    assert (arrival.duration, arrival.action) == (4, "林然望向大海")
    assert (arrival.camera.size, arrival.camera.move) == ("wide", "dolly-in")
    assert [(d.who, d.line) for d in arrival.dialogue] == [("lin", "你好")]
    assert reunion.continue_from == "arrival" and [(d.who, d.line) for d in reunion.dialogue] == [("chen", "好久不见")]
    assert set(board.characters) == {"lin", "chen"} and board.characters["lin"].voice is not None
    assert "      # uncertain: 要不要加一个特写\n      - id: reunion\n" in story.read_text(encoding="utf-8")
    assert not (tmp_path / "story.draft.yaml").exists()

    from storyboard_project import SIZE, cli

    from nava_director.cut import read_clip

    rendered = json.loads(cli("render", str(story), "--engine", "animatic", "--rewriter", "template",
                              "--size", SIZE, "--json").stdout)
    assert rendered["failed"] == [] and sorted(rendered["rendered"]) == ["arrival", "reunion"]
    film = read_clip(rendered["film"]["path"])
    assert film.frames.shape[0] == 4 * 24 + 1 + 5 * 24  # 4 s + 5 s, `reunion` continued (its first frame dropped)


@pytest.mark.slow
def test_the_errors_go_back_to_the_model_until_the_rounds_run_out(recorder, tiny_model, tmp_path):
    story = tmp_path / "story.yaml"
    done = write_cli(IDEA, str(story), "--rounds", "2", "--temperature", "0",
                     "--vllm-url", recorder.url, "--vllm-model", tiny_model)
    assert done.returncode == 1
    draft = tmp_path / "story.draft.yaml"
    assert not story.exists() and draft.is_file()
    expected = [f"{draft}:19:19: {BAD_LINES[0]}", f"{draft}:26:19: {BAD_LINES[1]}"]
    assert done.stderr.splitlines() == [*expected, f"no valid storyboard after 2 round(s); the best draft is {draft}"]

    first, second = recorder.requests  # two rounds, two requests
    assert "characters" in first["response_format"]["json_schema"]["schema"]["required"]
    assert len(first["messages"]) == 2
    replied, told = second["messages"][-2:]
    assert replied == {"role": "assistant", "content": DRAFT_BAD}  # the model's own draft…
    assert told["role"] == "user" and "\n".join(expected) in told["content"]  # …and its compiler lines
    assert "{who: wang, line: 你好}" in draft.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_reply_cut_at_the_token_limit_is_a_failed_round(recorder, tiny_model, tmp_path):
    story = tmp_path / "story.yaml"
    done = write_cli(IDEA, str(story), "--rounds", "2", "--max-tokens", "3", "--temperature", "0",
                     "--vllm-url", recorder.url, "--vllm-model", tiny_model, "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert [r["finish_reason"] for r in report["rounds"]] == ["length", "length"]
    assert report["rounds"][0]["problems"] == ["the reply was cut off at the token limit (3 tokens)"]
    assert "cut off at the token limit" in recorder.requests[1]["messages"][-1]["content"]
    assert not story.exists() and not (tmp_path / "story.draft.yaml").exists()
    assert "no reply could be used" in done.stderr


# -- without a server -----------------------------------------------------------------------


def test_the_draft_schema_is_bounded_and_names_no_file():
    text = json.dumps(draft_schema(4))
    for field in ("image", "voice", "seed", "cast"):
        assert f'"{field}"' not in text
    schema = draft_schema(4)
    assert schema["properties"]["scenes"]["maxItems"] == 4
    shot = schema["$defs"]["DraftShot"]["properties"]
    assert (shot["duration"]["minimum"], shot["duration"]["maximum"]) == (1, 10)
    assert all("maxLength" in s for s in (shot["action"], shot["sound"]["anyOf"][0]))


def test_both_programmed_drafts_parse_and_one_of_them_validates(tmp_path):
    cast = cast_folder(tmp_path)
    good = to_draft(DraftStoryboard.model_validate_json(DRAFT_GOOD), "zh", "cast.yaml")
    (tmp_path / "good.yaml").write_text(storyboard_yaml(good, "good"), encoding="utf-8")
    assert len(load_storyboard(tmp_path / "good.yaml").storyboard.shots()) == 2
    assert cast.is_file()


class Scripted:
    """Replies given in advance: for the loop's bookkeeping (the real server is tested above)."""

    def __init__(self, *replies: tuple[str | None, str]):
        self.replies, self.seen = list(replies), []

    def complete(self, messages, schema, max_tokens):
        self.seen.append(messages)
        return self.replies.pop(0)


def test_an_unparsable_reply_is_a_failed_round_then_a_good_one_is_written(tmp_path):
    cast_folder(tmp_path)
    drafter = Scripted(("<think>嗯</think>{not json", "stop"), ("<think>好</think>" + DRAFT_GOOD, "stop"))
    written = write_storyboard(IDEA, tmp_path / "s.yaml", drafter, cast=tmp_path / "cast.yaml", rounds=3)
    assert written.ok and [r.finish_reason for r in written.rounds] == ["stop", "stop"]
    assert written.rounds[0].problems == ["the reply is not a draft in the schema: not JSON "
                                          "(Expecting property name enclosed in double quotes at character 1)"]
    assert written.rounds[1] == Round(2, "stop", [])
    assert drafter.seen[1][-2] == {"role": "assistant", "content": "{not json"}  # the thinking stripped
    assert load_storyboard(tmp_path / "s.yaml").storyboard.title == "重逢"


def test_without_a_model_or_a_vllm_python_the_command_says_what_to_set(tmp_path):
    nothing = write_cli(IDEA, str(tmp_path / "s.yaml"))
    assert nothing.returncode == 2 and "Traceback" not in nothing.stderr
    assert "error: `write` needs a model and none is configured" in nothing.stderr
    no_python = write_cli(IDEA, str(tmp_path / "s.yaml"), "--vllm-model", str(tmp_path / "model"))
    assert no_python.returncode == 2 and "no Python with vLLM is configured" in no_python.stderr
    assert not (tmp_path / "s.yaml").exists()


def test_a_character_drafted_twice_is_a_failed_round_named_at_its_place(tmp_path):
    twice = DRAFT_BAD.replace('"look":"短发女子"}]', '"look":"短发女子"},{"id":"lin","name":"林然","look":"长发"}]')
    written = write_storyboard(IDEA, tmp_path / "s.yaml", Scripted((twice, "stop")), rounds=1)
    assert not written.ok and written.rounds[0].problems == [
        "the reply is not a draft in the schema: (top): Value error, characters[1].id 'lin' is already used "
        "by characters[0]"]
