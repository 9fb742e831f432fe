"""The review server: the page, its JSON API and the project's media, behind a token.

Every request needs the token: ``?token=`` once (the page is then redirected to a clean
URL with the token in a cookie), the cookie, or ``Authorization: Bearer TOKEN`` for
scripts. Only ``localhost`` / ``127.0.0.1`` Host headers are answered (a page elsewhere
cannot reach the server by renaming itself). Errors are JSON: ``{"error": ..., "hint": ...}``.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from nava_director.errors import InputError, NavaError
from nava_director.review.adapter import ReviewProject
from nava_director.review.jobs import Jobs
from nava_director.review.media import media_file, media_type

STATIC = Path(__file__).parent / "static"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
log = logging.getLogger("nava_director.review")


def error(status: int, message: str, hint: str | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, "hint": hint, **extra}, status_code=status)


class TokenGate:
    """ASGI middleware: a local Host and the token, or a JSON 403."""

    def __init__(self, app: ASGIApp, token: str):
        self.app, self.token = app, token

    def cookie_name(self, scope: Scope) -> str:
        port = (scope.get("server") or ("", 0))[1]
        return f"nava_review_{port}"  # one per server: two reviews on one host keep their own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
        if host not in LOCAL_HOSTS:
            await error(403, f"this server answers on 127.0.0.1 only, not {host!r}")(scope, receive, send)
            return
        given = request.query_params.get("token")
        bearer = request.headers.get("authorization", "")
        candidates = [request.cookies.get(self.cookie_name(scope)), given,
                      bearer[7:] if bearer.lower().startswith("bearer ") else None]
        if not any(c and secrets.compare_digest(c, self.token) for c in candidates):
            await error(403, "a token is needed", hint="open the URL `nava-director review` printed")(
                scope, receive, send)
            return
        if given is not None and request.method == "GET" and scope["path"] == "/":
            # the token leaves the address bar (and the history) for a cookie
            rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            response: Response = RedirectResponse("/" + (f"?{rest}" if rest else ""), status_code=303)
            response.set_cookie(self.cookie_name(scope), self.token, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Review:
    """The routes over one :class:`ReviewProject`."""

    def __init__(self, project: ReviewProject, jobs: Jobs | None = None):
        self.project = project
        self.jobs = jobs or Jobs(project.new_take, project.busy)
        self.view_lock = threading.Lock()

    def busy(self) -> dict[str, Any] | None:
        pid = self.project.busy()
        if pid is None:
            return None
        return {"pid": pid, "this_page": pid == os.getpid()}

    # ---- reading ----------------------------------------------------------------------

    def index(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def state(self, request: Request) -> Response:
        """The cheap poll: has anything changed, is the project busy, how are the jobs doing."""
        return JSONResponse({"version": self.project.version(), "busy": self.busy(), "jobs": self.jobs.snapshot()},
                            headers={"Cache-Control": "no-store"})

    def project_view(self, request: Request) -> Response:
        try:
            with self.view_lock:
                version, view = self.project.view()
        except NavaError as e:  # a storyboard being edited can be invalid for a while
            lines = [str(d) for d in getattr(e, "diagnostics", [])]
            return error(422, e.message, e.hint, diagnostics=lines)
        etag = f'"{version}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        data = {"version": version, **view, "busy": self.busy(), "jobs": self.jobs.snapshot()}
        return JSONResponse(data, headers={"ETag": etag, "Cache-Control": "no-cache"})

    def media(self, request: Request) -> Response:
        path = media_file(self.project.root, request.path_params["path"])
        if path is None:
            return error(404, "no such file in the project folder")
        return FileResponse(path, media_type=media_type(path), headers={"Cache-Control": "private, max-age=3600"})

    # ---- acting -----------------------------------------------------------------------

    async def body(self, request: Request, allowed: dict[str, type]) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            data: Any = {}
        else:
            try:
                data = await request.json()
            except ValueError:
                raise HTTPException(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise HTTPException(400, "the body must be a JSON object")
        for name, value in data.items():
            kind = allowed.get(name)
            if kind is None:
                raise HTTPException(400, f"unknown field {name!r} (known: {', '.join(allowed) or 'none'})")
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise HTTPException(400, f"{name!r} must be {'an integer' if kind is int else 'true or false'}")
        return data

    def shot(self, request: Request) -> str:
        shot = request.path_params["shot"]
        try:
            with self.view_lock:
                known = self.project.shot_ids()
        except NavaError as e:
            raise HTTPException(422, e.message) from None
        if shot not in known:
            raise HTTPException(404, f"no shot {shot!r} in {self.project.storyboard.name}")
        return shot

    async def act(self, action, *args) -> Response:
        """Run a library action unless the project is busy; its NavaError as a 4xx."""
        busy = self.busy()
        if busy is not None:
            return error(409, f"the project is busy: process {busy['pid']} is rendering it",
                         hint="wait for the render to finish", busy=busy)
        try:
            result = await run_in_threadpool(action, *args)
        except InputError as e:
            return error(400, e.message, e.hint)
        except NavaError as e:  # the project's lock, taken since we looked
            return error(409, e.message, e.hint)
        return JSONResponse({"ok": True, **result, "version": self.project.version()})

    async def pick(self, request: Request) -> Response:
        shot = self.shot(request)
        data = await self.body(request, {"take": int, "lock": bool})
        if "take" not in data:
            raise HTTPException(400, 'the body needs "take": the take number')
        if data["take"] < 1:
            raise HTTPException(400, '"take" must be 1 or more')
        return await self.act(self.project.pick, shot, data["take"], data.get("lock", False))

    async def lock(self, request: Request) -> Response:
        shot = self.shot(request)
        await self.body(request, {})
        return await self.act(self.project.set_locked, shot, True)

    async def unlock(self, request: Request) -> Response:
        shot = self.shot(request)
        await self.body(request, {})
        return await self.act(self.project.set_locked, shot, False)

    async def new_take(self, request: Request) -> Response:
        shot = self.shot(request)
        await self.body(request, {})
        job = self.jobs.submit(shot)
        return JSONResponse({"ok": True, "job": job.as_dict()}, status_code=202)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, str(exc.detail))


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("review: %s %s failed", request.method, request.url.path, exc_info=exc)
    return error(500, f"internal error ({type(exc).__name__}); see the server's terminal")


def create_app(project: ReviewProject, token: str, jobs: Jobs | None = None) -> Starlette:
    review = Review(project, jobs)
    routes = [
        Route("/", review.index),
        Route("/api/state", review.state),
        Route("/api/project", review.project_view),
        Route("/api/shots/{shot}/pick", review.pick, methods=["POST"]),
        Route("/api/shots/{shot}/lock", review.lock, methods=["POST"]),
        Route("/api/shots/{shot}/unlock", review.unlock, methods=["POST"]),
        Route("/api/shots/{shot}/takes", review.new_take, methods=["POST"]),
        Route("/media/{path:path}", review.media),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})
    app.add_middleware(TokenGate, token=token)
    app.state.review = review
    return app
