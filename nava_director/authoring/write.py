"""`nava-director write`: an idea to a storyboard, drafted by an LLM and checked by `validate`.

Each round asks the model for a draft constrained to :func:`~nava_director.authoring.schema.
draft_schema` (so the reply parses), writes it as YAML beside the storyboard
(``<stem>.draft.yaml``) and loads it with the storyboard's own loader — exactly what
``validate`` checks. Its errors go back to the model as the compiler lines they are, for
a bounded number of rounds. A reply cut at the token limit (``finish_reason: length``), or
one that does not parse, is a failed round, not a crash. The first draft without errors
becomes the storyboard; when the rounds run out, the draft with the fewest errors stays
beside it and the errors are returned.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Iterator, Protocol

from pydantic import ValidationError

from nava_director.authoring.draft import Draft, refuse_to_replace, storyboard_yaml, write_text
from nava_director.authoring.schema import DraftStoryboard, draft_schema, shots_for
from nava_director.captions.prompt import strip_thinking
from nava_director.captions.server import VllmServer
from nava_director.captions.vllm import served_model
from nava_director.storyboard.casting import read_casting
from nava_director.storyboard.rules import CJK_RE
from nava_director.settings import Settings
from nava_director.errors import Diagnostic, InputError, NavaError, StoryboardError
from nava_director.storyboard.load import LoadedStoryboard, load_storyboard
from nava_director.storyboard.model import Character

PROMPT_VERSION = "write-v1"
ROUNDS = 3
TOKENS_PER_SHOT = 400  # a shot's JSON is ~150 tokens; room for a model that thinks first
API_KEY = "EMPTY"


@cache
def system_prompt() -> str:
    return files("nava_director.authoring").joinpath(f"prompts/{PROMPT_VERSION}.md").read_text("utf-8")


class Drafter(Protocol):
    def complete(self, messages: list[dict], schema: dict, max_tokens: int) -> tuple[str | None, str | None]:
        """(the reply's content, its finish_reason)."""


class VllmDrafter:
    """Qwen3 (or any model) behind an OpenAI-compatible vLLM server, replies constrained to a schema."""

    def __init__(self, url: str, model: str, *, temperature: float = 0.7, timeout_s: float = 900):
        import openai

        base = url.rstrip("/")
        self.url, self.model, self.temperature = url, model, temperature
        self._client = openai.OpenAI(base_url=base if base.endswith("/v1") else f"{base}/v1", api_key=API_KEY,
                                     timeout=timeout_s, max_retries=1)

    def complete(self, messages: list[dict], schema: dict, max_tokens: int) -> tuple[str | None, str | None]:
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, temperature=self.temperature, max_tokens=max_tokens,
                response_format={"type": "json_schema",
                                 "json_schema": {"name": "storyboard", "schema": schema, "strict": True}},
            )
        except openai.APIConnectionError as error:
            raise NavaError(f"cannot reach the vLLM server at {self.url}: {error}",
                            hint="start it, or fix --vllm-url / NAVA_VLLM_URL") from None
        except openai.APIStatusError as error:
            raise NavaError(f"the vLLM server at {self.url} refused the request: {error.message}",
                            hint=f"check that it serves the model {self.model!r}") from None
        choice = response.choices[0]
        return choice.message.content, choice.finish_reason


@contextmanager
def open_drafter(settings: Settings, *, temperature: float = 0.7) -> Iterator[VllmDrafter]:
    """The drafter for ``settings``: a running server (``vllm_url``), or one started for
    ``vllm_model`` with ``vllm_python`` and stopped after — the captions' server handling."""
    if settings.vllm_url:
        model = settings.vllm_model or served_model(settings.vllm_url)
        yield VllmDrafter(settings.vllm_url, model, temperature=temperature)
    elif settings.vllm_model:
        with VllmServer(settings.vllm_model, settings.vllm_python) as url:
            yield VllmDrafter(url, settings.vllm_model, temperature=temperature)
    else:
        raise InputError("`write` needs a model and none is configured",
                         hint="give --vllm-url URL (a running vLLM server, or NAVA_VLLM_URL), or --vllm-model "
                              "MODEL with NAVA_VLLM_PYTHON set to start one")


@dataclass(frozen=True)
class Round:
    number: int
    finish_reason: str | None
    problems: list[str]  # compiler lines, or what was wrong with the reply; empty: the draft is valid

    def as_dict(self) -> dict:
        return {"round": self.number, "finish_reason": self.finish_reason, "problems": self.problems}


@dataclass
class Written:
    storyboard: Path  # written when ok
    draft: Path  # the best draft, kept beside it when not ok
    ok: bool
    rounds: list[Round] = field(default_factory=list)
    loaded: LoadedStoryboard | None = None  # the storyboard (ok) or the best draft as loaded, when it parsed
    errors: list[Diagnostic] = field(default_factory=list)  # what is left in the best draft
    warnings: list[Diagnostic] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"storyboard": str(self.storyboard), "ok": self.ok,
                "draft": None if self.ok else str(self.draft),
                "rounds": [r.as_dict() for r in self.rounds],
                "errors": [str(d) for d in self.errors], "warnings": [str(d) for d in self.warnings]}


def language_of(text: str) -> str:
    return "zh" if CJK_RE.search(text) else "en"


def user_message(idea: str, shots: int, minutes: float | None, cast: dict[str, Character] | None) -> str:
    lines = [f"Idea: {idea}", f"Shots: about {shots} in all."]
    if minutes is not None:
        lines.append(f"Length: about {minutes:g} minute(s) in all, the shots' durations added up.")
    if cast:
        lines.append("Cast (`who` is one of these ids; write no `characters`):")
        lines += [f"- {cid}: {c.name or cid}" + (f", {c.look}" if c.look else "") for cid, c in cast.items()]
    return "\n".join(lines)


def to_draft(reply: DraftStoryboard, language: str, cast: str | None) -> Draft:
    """The model's draft in the storyboard's shape (what a model writes as null is left out)."""
    draft = Draft(title=reply.title, language=language, cast=cast)
    if cast is None:
        draft.characters = {c.id: {"name": c.name, "look": c.look, "voice": None} for c in reply.characters}
    for scene in reply.scenes:
        shots = []
        for shot in scene.shots:
            data: dict = {"id": shot.id}
            if shot.continue_from:
                data["continue_from"] = shot.continue_from
            data["duration"] = shot.duration
            if shot.transition != "cut":
                data["transition"] = shot.transition
            data["action"] = shot.action
            camera = shot.camera.model_dump(exclude_none=True) if shot.camera else {}
            if camera:
                data["camera"] = camera
            if shot.sound:
                data["sound"] = shot.sound
            if shot.dialogue:
                data["dialogue"] = [{"who": d.who, "line": d.line} for d in shot.dialogue]
            if shot.uncertain:
                draft.doubts[shot.id] = shot.uncertain
            shots.append(data)
        draft.scenes.append({"id": scene.id, "setting": scene.setting, "shots": shots})
    return draft


def _first_problem(error: json.JSONDecodeError | ValidationError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error.msg} at character {error.pos})"
    first = error.errors(include_url=False)[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    return f"{where or '(top)'}: {first['msg']}"


def _feedback(problems: list[str]) -> str:
    return ("`nava-director validate` found these errors in the storyboard written from your JSON:\n"
            + "\n".join(problems) + "\nReply with the whole corrected JSON object.")


def _check(path: Path) -> tuple[list[Diagnostic], list[Diagnostic], LoadedStoryboard | None]:
    """(errors, warnings, the storyboard when valid) of the YAML at ``path``: `validate`'s checks."""
    try:
        loaded = load_storyboard(path)
    except StoryboardError as error:
        return ([d for d in error.diagnostics if d.severity == "error"],
                [d for d in error.diagnostics if d.severity != "error"], None)
    return [], loaded.warnings, loaded


def write_storyboard(idea: str, out: Path, drafter: Drafter, *, shots: int | None = None,
                     minutes: float | None = None, cast: Path | None = None, rounds: int = ROUNDS,
                     max_tokens: int | None = None, force: bool = False) -> Written:
    """Draft ``out`` from ``idea`` in at most ``rounds`` rounds with ``drafter``."""
    if not idea.strip():
        raise InputError("the idea is empty", hint='say what the film is about, e.g. "两个老朋友在海边重逢"')
    refuse_to_replace(out, force)
    if rounds < 1:
        raise InputError(f"--rounds {rounds}: at least one round is needed", hint="e.g. --rounds 3")
    characters: dict[str, Character] | None = None
    cast_ref: str | None = None
    if cast is not None:
        if not cast.is_file():
            raise InputError(f"casting file {cast} not found", hint="fix the --cast path")
        characters, doc = read_casting(cast)
        if doc.diagnostics and any(d.severity == "error" for d in doc.diagnostics):
            raise StoryboardError(doc.diagnostics)
        if not characters:
            raise InputError(f"{cast}: the cast has no characters", hint="add some under `characters:`")
        cast_ref = os.path.relpath(cast.resolve(), out.resolve().parent)
    wanted = shots_for(shots, minutes)
    schema = draft_schema(wanted, sorted(characters) if characters is not None else None)
    max_tokens = max_tokens or 600 + TOKENS_PER_SHOT * wanted
    language = language_of(idea)
    header = (f"Written by `nava-director write` from: {' '.join(idea.split())[:60]}\n"
              "Check the shots marked uncertain and cast the voices, then `nava-director validate`.")
    draft_path = out.with_name(f"{out.stem}.draft.yaml")
    base = [{"role": "system", "content": system_prompt()},
            {"role": "user", "content": user_message(idea, wanted, minutes, characters)}]
    messages = base
    result = Written(out, draft_path, ok=False)
    best: tuple[int, str] | None = None  # (errors, the draft's YAML)
    for number in range(1, rounds + 1):
        content, finish = drafter.complete(messages, schema, max_tokens)
        if finish == "length":
            problem = f"the reply was cut off at the token limit ({max_tokens} tokens)"
            result.rounds.append(Round(number, finish, [problem]))
            messages = base + [{"role": "user", "content": f"Your last reply was cut off at the token limit. "
                                f"Write the whole storyboard in fewer tokens: at most {wanted} shorter shots."}]
            continue
        reply_text = strip_thinking(content or "")
        try:
            reply = DraftStoryboard.model_validate(json.loads(reply_text))
        except (json.JSONDecodeError, ValidationError) as error:
            problem = f"the reply is not a draft in the schema: {_first_problem(error)}"
            result.rounds.append(Round(number, finish, [problem]))
            messages = base + [{"role": "assistant", "content": reply_text},
                               {"role": "user", "content": f"{problem}. Reply with one JSON object in the schema."}]
            continue
        text = storyboard_yaml(to_draft(reply, language, cast_ref), header)
        write_text(draft_path, text)
        errors, warnings, loaded = _check(draft_path)
        lines = [str(d) for d in errors]
        result.rounds.append(Round(number, finish, lines))
        if loaded is not None:
            draft_path.replace(out)
            result.ok, result.loaded = True, load_storyboard(out)
            result.warnings = result.loaded.warnings
            return result
        if best is None or len(errors) < best[0]:
            best = (len(errors), text)
        messages = base + [{"role": "assistant", "content": reply_text}, {"role": "user", "content": _feedback(lines)}]
    if best is not None:
        write_text(draft_path, best[1])
        result.errors, result.warnings, _ = _check(draft_path)
    else:
        draft_path.unlink(missing_ok=True)
    return result
