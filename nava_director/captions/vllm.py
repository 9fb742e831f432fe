"""The vLLM rewriter: Qwen3 behind vLLM's OpenAI-compatible server, via the ``openai`` client.

Many shots are rewritten at once (asyncio), at most ``concurrency`` requests in flight.
The reply's visible content is the caption; thinking (a reasoning field, or ``<think>``
blocks in the content) is dropped by :func:`~nava_director.captions.prompt.reply_caption`.
A reply with no usable caption (no choice, no message) is an :class:`UnusableReply`: asked
again, then the template caption. A body that is not an OpenAI reply at all (a proxy's HTML
page, text, broken JSON) means the URL names the wrong server: one error for the run.
"""

from __future__ import annotations

import asyncio

from nava_director.captions.brief import ShotBrief
from nava_director.captions.guard import UnusableReply
from nava_director.captions.sampling import REFERENCE, SamplingProfile
from nava_director.captions.prompt import messages, reply_caption
from nava_director.errors import NavaError

DEFAULT_MODEL = "Qwen/Qwen3-4B-Thinking-2507"  # the reference's rewriter
API_KEY = "EMPTY"  # vLLM's server asks for none unless started with --api-key


def _api_base(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def _unreachable(url: str, error: Exception) -> NavaError:
    return NavaError(
        f"cannot reach the vLLM server at {url}: {error}",
        hint="start it (python -m vllm.entrypoints.openai.api_server --model …), fix --vllm-url / "
             "NAVA_VLLM_URL, or use --rewriter template",
    )


# what the client raises on a 200 whose body is not the JSON it expects (the body is then
# handed back as text, or fails to parse, or lacks the fields a page of results has)
MALFORMED = (ValueError, TypeError, AttributeError, KeyError)


def _not_openai(url: str, reply: object) -> NavaError:
    shown = str(reply).strip().replace("\n", " ")
    return NavaError(
        f"the server at {url} answered with something that is not an OpenAI-compatible reply: {shown[:80]!r}",
        hint="point --vllm-url / NAVA_VLLM_URL at vLLM's OpenAI-compatible server (http://HOST:PORT/v1), "
             "or use --rewriter template",
    )


def served_model(url: str) -> str:
    """The model a running server serves (its first), for when none is configured."""
    import openai

    try:
        models = openai.OpenAI(base_url=_api_base(url), api_key=API_KEY, timeout=30, max_retries=1).models.list()
        ids = [model.id for model in models.data or []]
    except openai.APIError as error:
        raise _unreachable(url, error) from None
    except MALFORMED as error:
        raise _not_openai(url, error) from None
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise NavaError(f"the vLLM server at {url} serves no model", hint="start it with --model")
    return ids[0]


class VllmRewriter:
    writer = "vllm"

    def __init__(self, url: str, model: str, *, concurrency: int = 8, sampling: SamplingProfile = REFERENCE,
                 timeout_s: float = 900):
        from openai import AsyncOpenAI

        self.url, self.model = url, model
        self.sampling = sampling
        self._client = AsyncOpenAI(base_url=_api_base(url), api_key=API_KEY, timeout=timeout_s, max_retries=2)
        self._slots = asyncio.Semaphore(concurrency)
        self.in_flight = 0
        self.peak_in_flight = 0  # the most requests that were in flight at once

    async def rewrite(self, brief: ShotBrief, draft: str) -> str:
        """One reply's caption (its spans unchecked: the guard checks them)."""
        import openai

        async with self._slots:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                response = await self._client.chat.completions.create(
                    model=self.model, messages=messages(brief, draft),
                    temperature=self.sampling.temperature, top_p=self.sampling.top_p,
                    max_tokens=self.sampling.max_tokens, extra_body=self.sampling.openai_extra(),
                )
            except openai.APIConnectionError as error:
                raise _unreachable(self.url, error) from None
            except openai.APIStatusError as error:
                raise NavaError(f"the vLLM server at {self.url} refused the request: {error.message}",
                                hint=f"check that it serves the model {self.model!r}") from None
            except MALFORMED as error:
                raise _not_openai(self.url, error) from None
            finally:
                self.in_flight -= 1
        if not hasattr(response, "choices"):  # the body came back as text or a bare JSON value
            raise _not_openai(self.url, response)
        choice = response.choices[0] if response.choices else None
        if choice is None or choice.message is None:
            raise UnusableReply("the reply held no choice with a message")
        if not isinstance(choice.message.content, (str, type(None))):
            raise UnusableReply("the reply's content is not text")
        return reply_caption(choice.message.content, choice.finish_reason)

    async def aclose(self) -> None:
        await self._client.close()
