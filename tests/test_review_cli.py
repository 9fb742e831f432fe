"""`nava-director review` as a process: the URL it prints, Ctrl-C, and its user mistakes."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from review_project import copy_project, rendered_template
from storyboard_project import ROOT, SIZE, cli, edit


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return rendered_template(tmp_path_factory.mktemp("review-cli"))


@pytest.fixture
def sb(template, tmp_path):
    return copy_project(template, tmp_path / "project")


def start(*args: str) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "XDG_CONFIG_HOME": "/nonexistent"}
    command = [sys.executable, "-c", "from nava_director.cli import main; main()", "review", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_review_prints_a_tokened_url_serves_it_and_stops_on_ctrl_c(sb):
    process = start(str(sb), "--no-open", "--engine", "animatic", "--size", SIZE)
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]{20,})", "".join(lines))
        assert match, lines
        url, port, token = match.group(0), int(match.group(1)), match.group(2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/project?token={token}", timeout=20) as r:
            assert [s["id"] for s in json.load(r)["shots"]] == ["a", "b", "c", "d", "e"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/project", timeout=20)
        assert refused.value.code == 403
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(url, timeout=20) as page:  # the redirect, then the page with the cookie
            assert "review.js" in page.read().decode()
        with socket.create_connection(("127.0.0.1", port)):
            pass
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_a_port_in_use_is_one_line_and_exit_2(sb):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        done = cli("review", str(sb), "--no-open", "--port", str(busy.getsockname()[1]), check=False)
    assert done.returncode == 2 and "in use" in done.stderr and "Traceback" not in done.stderr


def test_a_broken_storyboard_is_said_before_serving(sb):
    edit(sb, "continue_from: a", "continue_from: zz")
    done = cli("review", str(sb), "--no-open", check=False)
    assert done.returncode == 2 and "sb.yaml:" in done.stderr and "Traceback" not in done.stderr
    assert "http://" not in done.stdout
