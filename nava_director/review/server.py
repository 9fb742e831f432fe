"""Serve the review page with uvicorn on 127.0.0.1: a free port unless one is named."""

from __future__ import annotations

import errno
import secrets
import socket
import threading
import time

import uvicorn

from nava_director.errors import InputError, NavaError
from nava_director.review.adapter import ReviewProject
from nava_director.review.app import create_app

HOST = "127.0.0.1"


class ReviewServer:
    """The page of one project, bound at construction (so its URL is known before it runs)."""

    def __init__(self, project: ReviewProject, port: int | None = None, token: str | None = None):
        self.token = token or secrets.token_urlsafe(24)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((HOST, port or 0))
        except OSError as e:
            self.socket.close()
            if e.errno == errno.EADDRINUSE:
                raise InputError(f"port {port} is in use", hint="name another with --port, or leave it out") from None
            raise NavaError(f"cannot listen on {HOST}:{port}: {e.strerror}") from None
        self.socket.listen(128)  # connections made once the URL is printed wait for uvicorn
        self.port = self.socket.getsockname()[1]
        self.app = create_app(project, self.token)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address with its token: what a person opens."""
        return f"http://{HOST}:{self.port}/?token={self.token}"

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def run(self) -> None:
        """Serve until Ctrl-C (uvicorn handles the signal and shuts down cleanly)."""
        self.server.run(sockets=[self.socket])

    def start(self, timeout: float = 10.0) -> ReviewServer:
        """Serve from a thread (tests, bench); returns once it answers."""
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise NavaError("the review server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)
        self.socket.close()
