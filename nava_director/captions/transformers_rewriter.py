"""The transformers rewriter: the same prompt as the vLLM rewriter, run by a local model
with ``transformers`` in this process (for machines without vLLM). One shot at a time."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from nava_director.captions.brief import ShotBrief
from nava_director.captions.prompt import messages, reply_caption
from nava_director.captions.sampling import REFERENCE, SamplingProfile
from nava_director.errors import InputError


class TransformersRewriter:
    writer = "transformers"

    def __init__(self, model: str, *, sampling: SamplingProfile = REFERENCE):
        self.model_path = model
        self.sampling = sampling
        self.max_new_tokens = sampling.max_tokens
        self._model = self._tokenizer = None
        self._lock = threading.Lock()  # one generate at a time

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not Path(self.model_path).is_dir():
            raise InputError(f"cannot load the rewriter model {self.model_path}: no such folder",
                             hint="give a local Hugging Face model folder with --vllm-model")
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_path)
            dtype = "auto" if torch.cuda.is_available() else torch.float32
            self._model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=dtype)
        except OSError as error:
            raise InputError(f"cannot load the rewriter model {self.model_path}: {error}",
                             hint="give a local Hugging Face model folder with --vllm-model") from None
        if torch.cuda.is_available():
            self._model.to("cuda")

    def _generate(self, brief: ShotBrief, draft: str) -> str:
        with self._lock:
            if self._model is None:
                self._load()
            inputs = self._tokenizer.apply_chat_template(
                messages(brief, draft), add_generation_prompt=True, return_tensors="pt", return_dict=True,
            ).to(self._model.device)
            s = self.sampling
            output = self._model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=s.temperature > 0,
                temperature=s.temperature, top_p=s.top_p, top_k=s.top_k, repetition_penalty=s.repetition_penalty,
            )
        new = output[0, inputs["input_ids"].shape[1]:]
        finished = new[-1].item() == self._tokenizer.eos_token_id or len(new) < self.max_new_tokens
        return reply_caption(self._tokenizer.decode(new, skip_special_tokens=True),
                             None if finished else "length")

    async def rewrite(self, brief: ShotBrief, draft: str) -> str:
        return await asyncio.to_thread(self._generate, brief, draft)

    async def aclose(self) -> None:
        return None
