"""`nava-director captions SB --json`: every shot's caption, dense, every span intact."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from nava_director.storyboard.load import load_storyboard
from nava_director.storyboard.spans import find_spans, strip_spans

DEMO = ROOT / "storyboards" / "demo.yaml"
CLI = Path(sys.executable).parent / "nava-director"


def captions(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "captions", *args], capture_output=True, text=True, env=env)


def test_json_gives_dense_captions_with_every_span_intact_offline(tmp_path):
    done = captions(str(DEMO), "--json", "--out", str(tmp_path), env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    shots = load_storyboard(DEMO).storyboard.shots()
    assert [row["shot"] for row in rows] == [shot.id for _, shot in shots]
    for row, (_, shot) in zip(rows, shots):
        assert set(row) == {"shot", "caption", "writer", "requested", "fallback"}
        assert (row["writer"], row["requested"], row["fallback"]) == ("template", "template", False)
        assert find_spans(row["caption"]) == [span.text for span in shot.spans()]
        assert "<S>" in row["caption"] or not shot.spans()
        if shot.dialogue:
            assert len(re.findall(r"[\u4e00-\u9fff]", strip_spans(row["caption"]))) >= 80


def test_an_unreachable_server_is_one_clear_error(tmp_path):
    done = captions(str(DEMO), "--rewriter", "vllm", "--vllm-url", "http://127.0.0.1:9", "--out", str(tmp_path))
    assert done.returncode == 1
    assert "cannot reach the vLLM server at http://127.0.0.1:9" in done.stderr and "hint:" in done.stderr
    assert "Traceback" not in done.stderr
