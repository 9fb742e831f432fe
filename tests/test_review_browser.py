"""The review page in a real browser: Debian's headless Chromium driven by selenium.

The demo storyboard is rendered (animatic) into a temporary folder with an extra take of
one shot; the page must show every shot and take, play a take, pick another (manifest.json
changes on disk and the page follows), seek the film from the strip, follow a render made
elsewhere, wait while the project is locked, and render a new take from its button.
A screenshot is left in tests/artifacts/review.png.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from review_project import LockHolder, wait_for

from nava_director.render.jobs import RenderOptions
from nava_director.render.run import render
from nava_director.review.adapter import ReviewProject
from nava_director.review.server import ReviewServer
from nava_director.session import ProjectArgs, Session, open_project

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "storyboards" / "demo.yaml"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.slow


def demo_director(out: Path) -> Session:
    """The demo opened as `render storyboards/demo.yaml --engine animatic --no-check --out OUT` opens
    it (the page's checks are the ones this test writes into a take's meta.json)."""
    args = ProjectArgs(DEMO, engine="animatic", out=out, rewriter="template", checks=False)
    return open_project(args, env={}, user_config=out.parent / "no-user-config.toml")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("review-browser") / "demo.nava"
    render(demo_director(out))
    render(demo_director(out), RenderOptions(shots=("answer",), takes=1))
    meta_path = out / "shots/answer/take-002/meta.json"  # the take checks' results, where they ran
    meta = json.loads(meta_path.read_text())
    meta["checks"] = {"version": 1, "failed": ["seam"], "results": [
        {"check": "speech", "status": "pass", "reason": "speech under every line", "value": 0.92, "unit": ""},
        {"check": "seam", "status": "fail", "reason": "the first frame jumps", "value": 31.5, "unit": "ΔE"},
        {"check": "stray_speech", "status": "warn", "reason": "speech where nobody speaks", "value": 0.4},
        {"check": "words", "status": "not-run", "reason": "no ASR model"},
    ]}
    meta_path.write_text(json.dumps(meta))
    return out


@pytest.fixture(scope="module")
def server(project):
    args = ProjectArgs(DEMO, out=project, engine="animatic")
    running = ReviewServer(ReviewProject(args, env={}, user_config=project.parent / "none.toml")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed: run scripts/setup.sh --dev")
    os.environ["SE_AVOID_STATS"] = "true"  # selenium's manager reports nothing, fetches nothing
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required",
                "--window-size=1280,1600", "--mute-audio"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def manifest(project: Path) -> dict:
    return json.loads((project / "manifest.json").read_text())


def takes_on_page(driver) -> dict[str, list[int]]:
    return js(driver, """
        const out = {};
        document.querySelectorAll('article.shot').forEach(row => {
          out[row.dataset.shot] = [...row.querySelectorAll('figure.take')].map(f => Number(f.dataset.take));
        });
        return out;""")


def test_the_review_page_in_chromium(server, browser, project):
    driver = browser
    driver.get(server.url)
    wait_for(lambda: js(driver, "return document.body.dataset.version"), 30)
    assert "token=" not in driver.current_url  # the token went into a cookie

    # every shot in film order, every take, the film with its subtitles and the strip
    assert js(driver, "return [...document.querySelectorAll('article.shot')].map(r => r.dataset.shot)") == [
        "arrival", "reunion", "answer", "together"]
    assert takes_on_page(driver) == {"arrival": [1], "reunion": [1], "answer": [1, 2], "together": [1]}
    videos = js(driver, "return [...document.querySelectorAll('figure.take video')].map(v => "
                        "[v.preload, v.getAttribute('poster'), v.getAttribute('src')])")
    assert len(videos) == 5 and all(p == "none" and "first_frame.png" in poster and "clip.mp4" in src
                                    for p, poster, src in videos)
    assert js(driver, "return document.querySelector('#film track').getAttribute('src')").startswith(
        "/media/film.vtt")
    assert js(driver, "return [...document.querySelectorAll('#timeline button')].map(b => b.dataset.shot)") == [
        "arrival", "reunion", "answer", "together"]
    assert js(driver, "return document.querySelectorAll('#shot-answer .badge.picked').length") == 0
    checks = driver.find_element("css selector", '#shot-answer figure[data-take="2"] .checks')
    assert checks.text == "✓ 1 · ✗ seam · ! stray_speech · – 1 not run"  # folded: the summary
    checks.find_element("css selector", "summary").click()
    assert "✗ seam 31.5 ΔE — the first frame jumps" in checks.text and "– words — no ASR model" in checks.text
    assert not js(driver, "return document.querySelector('#shot-answer figure[data-take=\"1\"] .checks')")

    # a take plays: its currentTime advances
    played = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const v = document.querySelector('#shot-arrival figure[data-take="1"] video');
        v.muted = true;
        v.play().then(() => done('ok'), e => done(String(e)));""")
    assert played == "ok"
    wait_for(lambda: js(driver, "return document.querySelector("
                                "'#shot-arrival figure[data-take=\"1\"] video').currentTime") > 0.3, 20)

    # the strip seeks the film (range requests)
    start = js(driver, "return Number(document.querySelector('#timeline button[data-shot=\"together\"]')"
                       ".dataset.seek)")
    assert start > 10
    driver.find_element("css selector", '#timeline button[data-shot="together"]').click()
    wait_for(lambda: abs(js(driver, "return document.querySelector('#film').currentTime") - start) < 1.5, 20)

    js(driver, "document.querySelector('#shot-arrival figure[data-take=\"1\"] video').marked = true")

    # pick take 2 of answer: manifest.json changes on disk, the page follows
    driver.find_element("css selector", '#shot-answer figure[data-take="2"] button[data-action="pick"]').click()
    wait_for(lambda: manifest(project)["shots"]["answer"]["picked"] == 2, 20)
    assert manifest(project)["shots"]["answer"]["chosen"] == 2
    wait_for(lambda: js(driver, "return document.querySelector('#shot-answer figure[data-take=\"2\"]')"
                                ".classList.contains('chosen') && !!document.querySelector("
                                "'#shot-answer figure[data-take=\"2\"] .badge.picked')"), 20)
    assert not js(driver, "return document.querySelector('#shot-answer figure[data-take=\"1\"]')"
                          ".classList.contains('chosen')")
    # the take playing in another row is the same element: the update did not rebuild it
    assert js(driver, "return document.querySelector('#shot-arrival figure[data-take=\"1\"] video').marked")
    assert js(driver, "return document.querySelector('#shot-arrival figure[data-take=\"1\"] video').currentTime") > 0

    # a render made elsewhere (the terminal) shows up by itself; it cuts the take picked on the page
    report = render(demo_director(project), RenderOptions(shots=("arrival",), takes=1))
    assert report.film.cut and report.rendered == ["arrival"]
    otio = (project / "film.otio").read_text()
    assert "shots/answer/take-002/clip.mp4" in otio and "shots/answer/take-001/clip.mp4" not in otio
    wait_for(lambda: takes_on_page(driver)["arrival"] == [1, 2], 20)

    # a render running elsewhere: the page says so and its buttons wait
    holder = LockHolder(project)
    try:
        wait_for(lambda: js(driver, "return !document.querySelector('#busy').hidden"), 20)
        wait_for(lambda: str(holder.pid) in driver.find_element("css selector", "#busy").text, 20)
        assert js(driver, "return [...document.querySelectorAll('button[data-action=pick]')].every(b => b.disabled)")
    finally:
        holder.release()
    wait_for(lambda: js(driver, "return document.querySelector('#busy').hidden"), 20)
    assert js(driver, "return [...document.querySelectorAll('button[data-action=pick]')].some(b => !b.disabled)")

    # "new take" renders in the background with its progress, and the take appears
    driver.find_element("css selector", '#shot-together button[data-action="take"]').click()
    wait_for(lambda: "new take 002 made" in driver.find_element("css selector", '[data-job-for="together"]').text, 60)
    wait_for(lambda: takes_on_page(driver)["together"] == [1, 2], 20)
    assert (project / "shots/together/take-002/meta.json").is_file()

    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    ARTIFACTS.mkdir(exist_ok=True)
    js(driver, "window.scrollTo(0, 0)")
    driver.save_screenshot(str(ARTIFACTS / "review.png"))
    assert (ARTIFACTS / "review.png").stat().st_size > 10_000
    shutil.copy(ARTIFACTS / "review.png", project / "review.png")  # beside the project too, for a failed run
