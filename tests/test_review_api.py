"""The review server's JSON API, token and media, through Starlette's test client (and a real
server for the raw paths an HTTP client would normalise away)."""

from __future__ import annotations

import http.client
import json

import pytest
from review_project import LockHolder, copy_project, rendered_template, review_project, wait_for
from starlette.testclient import TestClient
from storyboard_project import director, edit

from nava_director.render.jobs import RenderOptions
from nava_director.render.run import render
from nava_director.render.take_commands import status
from nava_director.review.app import create_app
from nava_director.review.server import ReviewServer

TOKEN = "t0ken-for-tests"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return rendered_template(tmp_path_factory.mktemp("review-template"))


@pytest.fixture
def sb(template, tmp_path):
    return copy_project(template, tmp_path / "project")


@pytest.fixture
def client(sb):
    app = create_app(review_project(sb), TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


def manifest(sb):
    return json.loads((sb.with_suffix(".nava") / "manifest.json").read_text())


# ---- the token ---------------------------------------------------------------------------


def test_every_request_needs_the_token(sb):
    app = create_app(review_project(sb), TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        for path in ("/", "/api/project", "/api/state", "/media/film.mp4", "/static/review.js", "/nowhere"):
            r = c.get(path)
            assert r.status_code == 403 and "token" in r.json()["error"], path
        assert c.get("/api/project?token=wrong").status_code == 403
        assert c.post("/api/shots/a/lock").status_code == 403
        assert "locked" not in json.dumps(manifest(sb)["shots"]["a"]).replace('"locked": false', "")


def test_the_token_in_the_url_once_becomes_a_cookie(sb):
    app = create_app(review_project(sb), TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        r = c.get(f"/?token={TOKEN}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"  # the token leaves the address bar
        assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
        page = c.get("/")  # the cookie alone, from now on
        assert page.status_code == 200 and "review.js" in page.text
        assert c.get("/api/project").status_code == 200


def test_a_foreign_host_name_is_refused(client):
    r = client.get("/api/project", headers={"Host": "evil.example:8000"})
    assert r.status_code == 403 and "127.0.0.1" in r.json()["error"]


# ---- reading -----------------------------------------------------------------------------


def test_project_lists_every_shot_in_film_order_with_every_take(client, sb):
    data = client.get("/api/project").json()
    shots = {s["id"]: s for s in data["shots"]}
    assert [s["id"] for s in data["shots"]] == ["a", "b", "c", "d", "e"]
    assert [t["n"] for t in shots["c"]["takes"]] == [1, 2]
    assert [t["seed"] for t in shots["c"]["takes"]] == [5, 6]
    c1, c2 = shots["c"]["takes"]
    assert c1["chosen"] and not c2["chosen"] and c1["current"] and c2["current"]
    assert shots["c"]["status"] == "fresh" and shots["c"]["dialogue"] == [{"who": "陈默", "line": "我来了。"}]
    assert shots["a"]["camera"] == "wide · pan-left" and shots["a"]["caption"]
    assert shots["b"]["continue_from"] == "a" and shots["b"]["film"]["start_s"] > 0
    clip = client.get(c2["clip"])
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    assert clip.content == (sb.with_suffix(".nava") / "shots/c/take-002/clip.mp4").read_bytes()
    poster = client.get(c2["poster"])
    assert poster.headers["content-type"] == "image/png" and poster.content[:4] == b"\x89PNG"
    film = data["film"]
    assert client.get(film["mp4"]).status_code == 200 and client.get(film["vtt"]).text.startswith("WEBVTT")


def test_stale_takes_are_marked_for_todays_storyboard(client, sb):
    edit(sb, "陈默走进院子", "陈默慢慢走进院子")
    shots = {s["id"]: s for s in client.get("/api/project").json()["shots"]}
    assert [t["current"] for t in shots["c"]["takes"]] == [False, False]
    assert shots["c"]["status"] == "stale" and shots["a"]["status"] == "fresh"


RECORD = {  # a take's checks as the checks write them in its meta.json
    "version": 1, "asr_model": None, "mean_lab": [50.0, 1.0, 2.0], "seconds": 0.4, "failed": ["seam"],
    "results": [
        {"check": "speech", "status": "pass", "reason": "speech under every line", "value": 0.92, "threshold": 0.5,
         "unit": ""},
        {"check": "seam", "status": "fail", "reason": "the first frame jumps", "value": 31.5, "threshold": 12.0,
         "unit": "ΔE"},
        {"check": "words", "status": "not-run", "reason": "no ASR model", "value": None, "threshold": None,
         "unit": ""},
    ],
}


def write_checks(sb, take: str, checks) -> None:
    meta_path = sb.with_suffix(".nava") / f"shots/c/{take}/meta.json"
    meta = json.loads(meta_path.read_text())
    meta["checks"] = checks
    meta_path.write_text(json.dumps(meta))


def test_a_takes_check_results_are_listed(client, sb):
    write_checks(sb, "take-002", RECORD)
    take1, take2 = {s["id"]: s for s in client.get("/api/project").json()["shots"]}["c"]["takes"]
    assert take1["checks"] is None and take2["checks_raw"] == RECORD
    assert [(c["name"], c["status"], c["value"], c["unit"]) for c in take2["checks"]] == [
        ("speech", "pass", 0.92, ""), ("seam", "fail", 31.5, "ΔE"), ("words", "not-run", None, "")]
    assert take2["checks"][1]["reason"] == "the first frame jumps" and take2["checks"][1]["threshold"] == 12.0


def test_checks_of_another_shape_are_shown_as_well_as_they_can_be(client, sb):
    write_checks(sb, "take-002", {"lipsync": {"ok": False, "offset_ms": 120}, "speech": True, "note": "odd"})
    checks = {s["id"]: s for s in client.get("/api/project").json()["shots"]}["c"]["takes"][1]["checks"]
    assert [(c["name"], c["status"], c["reason"]) for c in checks] == [
        ("lipsync", "fail", "offset_ms 120"), ("speech", "pass", ""), ("note", None, "odd")]
    write_checks(sb, "take-002", "garbled")
    checks = {s["id"]: s for s in client.get("/api/project").json()["shots"]}["c"]["takes"][1]["checks"]
    assert checks == [{"name": "checks", "status": None, "value": None, "threshold": None, "unit": "",
                       "reason": "garbled"}]


def test_the_version_changes_with_the_project_and_the_view_has_an_etag(client, sb):
    first = client.get("/api/project")
    etag = first.headers["etag"]
    assert client.get("/api/project", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/api/state").json()["version"] == first.json()["version"]
    render(director(sb), RenderOptions(shots=("a",), takes=1))
    state = client.get("/api/state").json()
    assert state["version"] != first.json()["version"]
    again = client.get("/api/project", headers={"If-None-Match": etag})
    assert again.status_code == 200 and len(again.json()["shots"][0]["takes"]) == 2


def test_an_invalid_storyboard_is_a_422_with_its_diagnostics(client, sb):
    first_shot = "duration: 1\n        action: 林然站在院子里"
    edit(sb, first_shot, first_shot.replace("duration: 1", "duration: -1"))
    r = client.get("/api/project")
    assert r.status_code == 422 and r.json()["diagnostics"] and "sb.yaml" in r.json()["diagnostics"][0]
    edit(sb, "duration: -1\n", "duration: 1\n")
    assert client.get("/api/project").status_code == 200


# ---- media -------------------------------------------------------------------------------


def test_media_answers_range_requests(client, sb):
    path = sb.with_suffix(".nava") / "shots/a/take-001/clip.mp4"
    data, size = path.read_bytes(), path.stat().st_size
    r = client.get("/media/shots/a/take-001/clip.mp4", headers={"Range": "bytes=100-299"})
    assert r.status_code == 206 and r.content == data[100:300]
    assert r.headers["content-range"] == f"bytes 100-299/{size}" and r.headers["accept-ranges"] == "bytes"
    tail = client.get("/media/shots/a/take-001/clip.mp4", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    assert client.get("/media/shots/a/take-001/clip.mp4", headers={"Range": f"bytes={size + 10}-"}).status_code == 416


@pytest.fixture
def server(sb):
    running = ReviewServer(review_project(sb), token=TOKEN).start()
    yield running
    running.stop()


def raw_get(server, path: str) -> tuple[int, bytes]:
    """GET exactly ``path`` (no client-side normalisation of ``..``)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_no_path_outside_the_project_folder_is_served(server, sb, tmp_path):
    root = sb.with_suffix(".nava")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret outside the project")
    (root / "shots/a/take-001/out.png").symlink_to(secret)  # a symlink out of the folder
    (root / "shots/a/link").symlink_to(tmp_path)  # a linked folder out of it
    (sb.parent / "beside.png").write_bytes(b"\x89PNG beside the project")
    sneaky = [
        "/media/../beside.png",
        "/media/%2e%2e/beside.png",
        "/media/%2E%2E%2Fbeside.png",
        "/media/shots/a/take-001/../../../../beside.png",
        "/media/shots/%2e%2e/%2e%2e/%2e%2e/beside.png",
        "/media/..%2fbeside.png",
        "/media//etc/passwd",
        "/media/%2Fetc%2Fpasswd",
        f"/media/{secret}",
        f"/media/%2F{str(secret)[1:]}",
        "/media/shots/a/take-001/out.png",
        "/media/shots/a/link/secret.png",
        "/media/..\\beside.png",
        "/media/.lock",
        "/media/manifest.json",  # not media
        "/media/shots/a/take-001/meta.json",
        "/media/",
    ]
    for path in sneaky:
        status_code, body = raw_get(server, path)
        assert status_code in (400, 404), (path, status_code)
        assert b"secret" not in body and b"beside" not in body and b"root:" not in body, path
    assert raw_get(server, "/media/shots/a/take-001/first_frame.png")[0] == 200  # the real thing still is


# ---- acting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", '"take"'),
        (b"not json", "not JSON"),
        (b"[2]", "JSON object"),
        (b'{"take": "2"}', "integer"),
        (b'{"take": true}', "integer"),
        (b'{"take": 2.5}', "integer"),
        (b'{"take": 0}', "1 or more"),
        (b'{"take": -3}', "1 or more"),
        (b'{"take": 2, "lock": "yes"}', "true or false"),
        (b'{"take": 2, "shot": "a"}', "unknown field"),
        (b'{"take": 99}', "no take 99"),
        (b'{"take": 123456789012345678901234567890}', "no take"),
    ],
)
def test_bad_input_to_pick_is_a_400_with_a_json_error(client, body, message):
    r = client.post("/api/shots/c/pick", content=body)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"] + (r.json()["hint"] or "")


def test_unknown_shots_routes_and_methods_are_json_4xx(client):
    for method, path, code in [
        ("POST", "/api/shots/zz/pick", 404),
        ("POST", "/api/shots/zz/lock", 404),
        ("POST", "/api/shots/%2e%2e/takes", 404),
        ("GET", "/api/shots/c/pick", 405),
        ("DELETE", "/api/project", 405),
        ("GET", "/api/nothing", 404),
        ("POST", "/api/shots/c/lock", 400),  # a body it does not take
    ]:
        r = client.request(method, path, content=b'{"take": 2}')
        assert r.status_code == code, (method, path, r.text)
        assert r.headers["content-type"].startswith("application/json") and r.json()["error"]


def test_pick_writes_the_manifest_and_the_next_render_cuts_that_take(client, sb):
    r = client.post("/api/shots/c/pick", json={"take": 2})
    assert r.status_code == 200 and r.json()["take"] == 2
    assert manifest(sb)["shots"]["c"]["picked"] == 2 and manifest(sb)["shots"]["c"]["chosen"] == 2
    shots = {s["id"]: s for s in client.get("/api/project").json()["shots"]}
    assert shots["c"]["takes"][1]["chosen"] and shots["c"]["takes"][1]["picked"]
    assert shots["d"]["status"] == "stale"  # d continues from c: its first frame changed
    report = render(director(sb))
    assert report.rendered == ["d"] and report.film.cut
    otio = (sb.with_suffix(".nava") / "film.otio").read_text()
    assert "shots/c/take-002/clip.mp4" in otio and "shots/c/take-001/clip.mp4" not in otio


def test_a_take_of_older_inputs_is_picked_only_with_lock(client, sb):
    edit(sb, "陈默走进院子", "陈默慢慢走进院子")
    r = client.post("/api/shots/c/pick", json={"take": 2})
    assert r.status_code == 400 and "other inputs" in r.json()["error"]
    r = client.post("/api/shots/c/pick", json={"take": 2, "lock": True})
    assert r.status_code == 200 and manifest(sb)["shots"]["c"]["locked"] is True
    assert {s.job.shot: s for s in status(director(sb))}["c"].status == "locked"


def test_lock_and_unlock(client, sb):
    assert client.post("/api/shots/a/lock").json()["locked"] is True
    assert manifest(sb)["shots"]["a"]["locked"] is True
    assert client.get("/api/project").json()["shots"][0]["locked"] is True
    assert client.post("/api/shots/a/unlock").json()["locked"] is False
    assert manifest(sb)["shots"]["a"]["locked"] is False


def test_a_render_running_elsewhere_makes_actions_wait(client, sb):
    holder = LockHolder(sb.with_suffix(".nava"))
    try:
        state = client.get("/api/state").json()
        assert state["busy"] == {"pid": holder.pid, "this_page": False}
        r = client.post("/api/shots/c/pick", json={"take": 2})
        assert r.status_code == 409 and str(holder.pid) in r.json()["error"]
        assert client.post("/api/shots/a/lock").status_code == 409
        assert manifest(sb)["shots"]["c"]["picked"] is None
        job = client.post("/api/shots/a/takes").json()["job"]  # a new take waits for the lock
        wait_for(lambda: client.get("/api/state").json()["jobs"][0]["state"] == "waiting")
    finally:
        holder.release()
    done = wait_for(lambda: next((j for j in client.get("/api/state").json()["jobs"]
                                  if j["id"] == job["id"] and j["state"] in ("done", "failed")), None))
    assert done["state"] == "done" and done["takes"] == [2], done
    assert client.get("/api/state").json()["busy"] is None


def test_new_take_renders_in_the_background_with_progress(client, sb):
    r = client.post("/api/shots/b/takes")
    assert r.status_code == 202 and r.json()["job"]["state"] == "queued"
    job = wait_for(lambda: next((j for j in client.get("/api/state").json()["jobs"]
                                 if j["state"] in ("done", "failed")), None))
    assert job["state"] == "done" and job["takes"] == [2] and job["shots_total"] == 5, job
    takes = {s["id"]: s for s in client.get("/api/project").json()["shots"]}["b"]["takes"]
    assert [(t["n"], t["seed"], t["chosen"]) for t in takes] == [(1, 5, True), (2, 6, False)]
    assert (sb.with_suffix(".nava") / "shots/b/take-002/clip.mp4").is_file()
    engine = client.app.state.review.project._engine  # kept for the next take (the NAVA engine's weights)
    assert engine is not None
    client.post("/api/shots/b/takes")
    wait_for(lambda: [j["state"] for j in client.get("/api/state").json()["jobs"]] == ["done", "done"])
    assert client.get("/api/state").json()["jobs"][1]["takes"] == [3]
    assert client.app.state.review.project._engine is engine


def test_the_server_binds_127_0_0_1_on_a_free_port(server):
    assert server.socket.getsockname()[0] == "127.0.0.1" and server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}/?token={TOKEN}"
    assert raw_get(server, "/api/state")[0] == 200


def test_a_storyboard_never_rendered_shows_its_shots_with_no_take(tmp_path):
    from storyboard_project import make_storyboard

    sb = make_storyboard(tmp_path)
    app = create_app(review_project(sb), TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        data = c.get("/api/project").json()
        assert data["film"] is None and [s["status"] for s in data["shots"]] == ["new"] * 5
        assert all(s["takes"] == [] for s in data["shots"])
        assert c.post("/api/shots/a/lock").status_code == 400  # no take to lock
        assert c.get("/api/state").json()["busy"] is None
    assert not sb.with_suffix(".nava").exists() or not (sb.with_suffix(".nava") / "manifest.json").exists()


def test_a_new_take_that_fails_says_why_and_the_next_one_still_runs():
    from nava_director.errors import NavaError
    from nava_director.review.jobs import Jobs

    outcomes = iter([NavaError("a: the engine ran out of memory"), ZeroDivisionError("boom"), [4]])

    def render(shot, progress):
        progress.start(2)
        progress.shot(shot, 0, "")
        progress.step(3, 10, "denoise")
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    jobs = Jobs(render, busy=lambda: None)
    for shot in ("a", "b", "c"):
        jobs.submit(shot)
    done = wait_for(lambda: (s := jobs.snapshot()) and all(j["state"] in ("done", "failed") for j in s) and s)
    assert [(j["shot"], j["state"], j["error"], j["takes"]) for j in done] == [
        ("a", "failed", "a: the engine ran out of memory", []),
        ("b", "failed", "ZeroDivisionError: boom", []),
        ("c", "done", None, [4]),
    ]
    assert done[2]["step"] == "denoise 3/10" and done[2]["shots_total"] == 2
