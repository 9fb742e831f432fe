"""Starting and stopping a vLLM OpenAI-compatible server for a run.

vLLM lives in its own Python (``NAVA_VLLM_PYTHON``; ``scripts/setup_vllm.sh`` makes
``.venv-vllm``): it pins a torch and transformers of its own. :class:`VllmServer` starts
``python -m vllm.entrypoints.openai.api_server`` on 127.0.0.1 at a free port, waits until
it answers, yields its URL, and stops it (its whole process group) afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import Mapping

from nava_director.errors import InputError, NavaError

STARTUP_TIMEOUT_S = 900  # a large model loading on a CPU takes minutes
STOP_TIMEOUT_S = 30
STRUCTURED_OUTPUTS = '{"backend": "xgrammar", "disable_any_whitespace": true}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def has_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None and subprocess.run(
        ["nvidia-smi", "-L"], capture_output=True).returncode == 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class VllmServer:
    """``with VllmServer(model, python) as url:`` — a server for ``model`` while inside."""

    def __init__(self, model: str, python: Path | None, *, max_model_len: int = 8192,
                 startup_timeout_s: float = STARTUP_TIMEOUT_S, env: Mapping[str, str] | None = None):
        if python is None:
            raise InputError("no Python with vLLM is configured to start a server with",
                             hint="set NAVA_VLLM_PYTHON (scripts/setup_vllm.sh makes .venv-vllm/bin/python), "
                                  "give a running server with --vllm-url, or use --rewriter template")
        if not Path(python).is_file():
            raise InputError(f"the vLLM Python {python} does not exist",
                             hint="run scripts/setup_vllm.sh, or fix NAVA_VLLM_PYTHON")
        self.model, self.python = model, Path(python)
        self.max_model_len, self.startup_timeout_s = max_model_len, startup_timeout_s
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_s: float | None = None  # how long the server took to answer
        self._process: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="nava-vllm-", suffix=".log", delete=False)

    def command(self) -> list[str]:
        return [
            str(self.python), "-m", "vllm.entrypoints.openai.api_server",
            "--model", self.model, "--served-model-name", self.model,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--max-model-len", str(self.max_model_len),
            "--dtype", "auto" if has_gpu() else "float32",  # CPU kernels want float32
            # constrained replies (`write`) without free whitespace: vLLM 0.32 reads this only
            # from the server's config, never from a request (docs/authoring.md)
            "--structured-outputs-config", STRUCTURED_OUTPUTS,
        ]

    def _log_tail(self, lines: int = 20) -> str:
        with open(self._log.name, encoding="utf-8", errors="replace") as f:
            return "".join(deque(f, maxlen=lines))

    def start(self) -> str:
        self._process = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                         env=self.env, start_new_session=True)
        started = time.monotonic()
        while time.monotonic() - started < self.startup_timeout_s:
            if self._process.poll() is not None:
                raise NavaError(f"the vLLM server for {self.model} exited with code {self._process.returncode} "
                                f"while starting; the end of its log ({self._log.name}):\n{self._log_tail()}",
                                hint="check the model path and the vLLM install (scripts/setup_vllm.sh)")
            if _answers(self.url):
                self.startup_s = time.monotonic() - started
                return self.url
            time.sleep(1)
        self.stop()
        raise NavaError(f"the vLLM server for {self.model} did not answer within "
                        f"{self.startup_timeout_s:.0f} s; its log: {self._log.name}",
                        hint="a large model on a CPU is slow to load; try a smaller one, or start the "
                             "server yourself and pass --vllm-url")

    def stop(self) -> None:
        """Stop the server and everything it started (its process group)."""
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._log.close()
        os.unlink(self._log.name)  # kept only when the server failed to start (the error names it)
