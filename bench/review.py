"""Opening the review page of a 50-shot film with 3 takes per shot (target: under a second).

A project folder with the real take layout is made without rendering: the rerender
bench's storyboard, each shot's takes written by ``Project.add_take`` from synthetic
frames under the keys the director computes (so every take is current and take 1 is
in the film), then the real cut. The review server runs on it, and headless Chromium
(Debian's, through selenium) opens the page:

- ``server_start_s``: what `nava-director review` does before it prints the URL (the project's
  view: every shot's status, as `takes` computes it; the server up), in-process;
- ``server_project_s``: then GET /api/project (the view is kept until the project changes);
- ``server_project_changed_s``: GET /api/project after the project changed on disk (made again);
- ``review_open_50x3_s``: navigation start to the page showing every shot and take
  (a ``performance.mark`` the page sets once it has drawn), on a fresh server;
- ``review_open_load_event_s``: to the load event (the document, its script and style: before
  the project is fetched);
- ``review_open_posters_s``: to the last first-frame poster received (they load after the page shows);
- ``review_open_warm_s``: the same on a reload, best of ``repeats``;
- ``clips_fetched_on_open``: clip.mp4 requests made while opening (videos load lazily: 0).
"""

from __future__ import annotations

import http.client
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.rerender import storyboard, write_project

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SAMPLE_RATE = 48_000


def synthetic_clip(frames: int, width: int, height: int, tone: int):
    from nava_director.clip import Clip
    from nava_director.storyboard.model import RENDER_FPS

    y, x = np.mgrid[0:height, 0:width]
    pictures = np.stack([
        np.stack([(x + 4 * t + tone) % 256, (y + 2 * t) % 256, np.full_like(x, (37 * tone) % 256)], -1)
        for t in range(frames)
    ]).astype(np.uint8)
    audio = np.zeros((2, round(frames / RENDER_FPS * SAMPLE_RATE)), np.float32)
    return Clip(frames=pictures, audio=audio, sample_rate=SAMPLE_RATE, fps=RENDER_FPS)


def make_project(folder: Path, shots: int, takes: int, size: str) -> Path:
    """The storyboard and its project folder: ``takes`` current takes per shot, take 1 chosen, the film cut."""
    from nava_director.project.takes import NewTake, TakeMeta
    from nava_director.render.decide import shot_key
    from nava_director.render.run import render
    from nava_director.render.shape import shape_of
    from nava_director.session import ProjectArgs, open_project

    path = write_project(folder, storyboard(shots))
    args = ProjectArgs(path, engine="animatic", size=size, rewriter="template")
    session = open_project(args, env={}, user_config=folder / "none.toml")
    project, shape = session.project, shape_of(session)
    manifest = project.manifest()
    captions = session.captions(manifest)
    manifest.writer, manifest.size = "template", shape.size
    chosen = {}
    for i, job in enumerate(session.plan.jobs):
        key = shot_key(job, captions[job.shot], chosen.get(job.continue_from), shape, session.characters)
        made = [
            project.add_take(NewTake(job.shot, key.value, job.seed + t,
                                     synthetic_clip(job.frames, *shape.size, i + 9 * t), TakeMeta.of(key), 0.0))
            for t in range(takes)
        ]
        entry = manifest.shot(job.shot)
        entry.key, entry.chosen = key.value, made[0].n
        chosen[job.shot] = made[0]
    project.save_manifest(manifest)
    report = render(session)  # every shot is current: nothing renders, the film is cut
    assert not report.rendered, report.rendered
    return path


def timed_get(port: int, path: str, token: str) -> tuple[float, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    assert response.status == 200, (response.status, body[:200])
    return elapsed, len(body)


def _changed_get(server, path: Path) -> float:
    (path.with_suffix(".nava") / "manifest.json").touch()
    return timed_get(server.port, "/api/project", server.token)[0]


def browser():
    os.environ["SE_AVOID_STATS"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--window-size=1280,1000", "--mute-audio"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def open_page(driver, url: str, shots: int, takes: int) -> dict:
    """Load ``url``; the time from navigation start to the page's 'review-shown' mark."""
    started = time.perf_counter()
    driver.get(url)
    deadline = time.monotonic() + 60
    while not driver.execute_script("return performance.getEntriesByName('review-shown').length"):
        if time.monotonic() > deadline:
            raise RuntimeError("the review page did not show")
        time.sleep(0.01)
    wall = time.perf_counter() - started
    seen = driver.execute_script("""
        const mark = performance.getEntriesByName('review-shown')[0].startTime;
        const resources = performance.getEntriesByType('resource').map(r => r.name);
        const nav = performance.getEntriesByType('navigation')[0];
        return {shown_ms: mark, load_ms: nav ? nav.loadEventEnd : null,
                shots: document.querySelectorAll('article.shot').length,
                takes: document.querySelectorAll('figure.take video').length,
                clips: resources.filter(n => n.includes('clip.mp4')).length};""")
    assert seen["shots"] == shots and seen["takes"] == shots * takes, seen
    load_s = seen["load_ms"] / 1000 if seen["load_ms"] else None
    posters = []
    while len(posters) < shots * takes and time.monotonic() < deadline:
        posters = driver.execute_script("return performance.getEntriesByType('resource')"
                                        ".filter(r => r.name.includes('first_frame.png')).map(r => r.responseEnd)")
        time.sleep(0.02)
    seen["posters_s"] = max(posters) / 1000 if len(posters) == shots * takes else float("nan")
    return {"shown_s": seen["shown_ms"] / 1000, "load_s": load_s, "posters_s": seen["posters_s"], "wall_s": wall,
            "clips_fetched": seen["clips"]}


def run(shots: int = 50, takes: int = 3, size: str = "320x176", repeats: int = 3) -> dict:
    from nava_director.review.adapter import ReviewProject
    from nava_director.review.server import ReviewServer
    from nava_director.session import ProjectArgs

    with tempfile.TemporaryDirectory(prefix="nava-bench-review-") as tmp:
        started = time.perf_counter()
        path = make_project(Path(tmp), shots, takes, size)
        made_s = time.perf_counter() - started

        def serve() -> tuple[ReviewServer, float]:
            """As `nava-director review` does before it prints the URL: the project's view made, the server up."""
            started = time.perf_counter()
            args = ProjectArgs(path, engine="animatic", size=size)
            project = ReviewProject(args, env={}, user_config=path.parent / "none.toml")
            project.view()
            return ReviewServer(project).start(), time.perf_counter() - started

        server, start_s = serve()
        try:
            first_s, size_bytes = timed_get(server.port, "/api/project", server.token)
            (path.with_suffix(".nava") / "manifest.json").touch()  # as a pick or a render does
            rebuild_s = min(_changed_get(server, path) for _ in range(repeats))
        finally:
            server.stop()
        driver = browser()
        try:
            driver.get("about:blank")  # the browser's own start is not the page's
            server, _ = serve()
            try:
                cold = open_page(driver, server.url, shots, takes)
                warm = [open_page(driver, server.base + "/", shots, takes) for _ in range(repeats)]
            finally:
                server.stop()
        finally:
            driver.quit()
    best = min(warm, key=lambda w: w["shown_s"])
    return {
        "shots": shots,
        "takes_per_shot": takes,
        "size": size,
        "project_made_s": round(made_s, 2),
        "server_start_s": round(start_s, 3),
        "server_project_s": round(first_s, 4),
        "server_project_changed_s": round(rebuild_s, 4),
        "project_json_bytes": size_bytes,
        "review_open_50x3_s": round(cold["shown_s"], 3),
        "review_open_load_event_s": cold["load_s"] and round(cold["load_s"], 3),
        "review_open_posters_s": round(cold["posters_s"], 3),
        "review_open_wall_s": round(cold["wall_s"], 3),  # selenium's get(): to the load event, and its own
        "review_open_warm_s": round(best["shown_s"], 3),
        "review_open_warm_runs_s": [round(w["shown_s"], 3) for w in warm],
        "clips_fetched_on_open": max([cold["clips_fetched"], *(w["clips_fetched"] for w in warm)]),
    }
