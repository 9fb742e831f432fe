"""Re-rendering a 50-shot storyboard: nothing changed, then one shot changed.

A storyboard of 50 one-second shots (ten per scene; every fifth shot starts a chain of
three: two shots continue from it) is generated in a temporary folder with the example cast and voices, and
rendered once with the animatic engine at a tiny size through the real CLI. Then:

- the CLI runs again with nothing changed, timed as a whole process (interpreter start,
  imports, plan, keys, film check): target < 2 s, no engine call;
- one shot that starts a chain has its action edited: exactly that chain renders again.

Engine calls are read from the run's report.json (``rendered``: one engine call per shot).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "storyboards"
CHAIN = 3  # shots per continuation chain
CHAIN_EVERY = 5  # a chain starts at every fifth shot


def storyboard(shots: int) -> dict:
    """A storyboard of ``shots`` one-second shots, ten per scene, with dialogue and chains."""
    if shots % 10:
        raise ValueError(f"shots must be a multiple of ten, got {shots}")
    scenes = []
    for s in range(shots // 10):
        scene = {"id": f"scene{s}", "setting": f"第{s + 1}场：黄昏的海边", "shots": []}
        for i in range(10 * s, 10 * s + 10):
            shot = {"id": f"s{i:02d}", "duration": 1, "action": f"镜头{i}：林然望向远方", "sound": "海浪声"}
            if 0 < i % CHAIN_EVERY < CHAIN:
                shot["continue_from"] = f"s{i - 1:02d}"
            if i % 4 == 0:
                shot["dialogue"] = [{"who": "lin" if i % 8 else "chen", "line": f"第{i}句。"}]
            scene["shots"].append(shot)
        scenes.append(scene)
    return {
        "title": "rerender bench",
        "format": {"aspect": "landscape", "fps": 24},
        "defaults": {"steps": 4, "seed": 1, "language": "zh"},
        "cast": "cast.yaml",
        "scenes": scenes,
    }


def edit_action(board: dict, shot_id: str, more: str) -> None:
    for scene in board["scenes"]:
        for shot in scene["shots"]:
            if shot["id"] == shot_id:
                shot["action"] += more


def chain_of(board: dict, first: str) -> list[str]:
    """``first`` and every shot that continues from it, directly or not."""
    shots = [shot for scene in board["scenes"] for shot in scene["shots"]]
    chain = [first]
    for shot in shots:
        if shot.get("continue_from") in chain:
            chain.append(shot["id"])
    return chain


def write_project(folder: Path, board: dict) -> Path:
    shutil.copy(EXAMPLES / "cast.yaml", folder / "cast.yaml")
    shutil.copytree(EXAMPLES / "voices", folder / "voices")
    path = folder / "storyboard.yaml"
    with open(path, "w", encoding="utf-8") as f:
        YAML().dump(board, f)
    return path


def render_cli(path: Path, size: str) -> tuple[float, dict]:
    """Run ``nava-director render`` as a new process; its wall time and its report.json."""
    command = [
        str(Path(sys.executable).parent / "nava-director"),
        "render",
        str(path),
        "--engine",
        "animatic",
        "--rewriter",
        "template",
        "--size",
        size,
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"render failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads((path.with_suffix(".nava") / "report.json").read_text())
    return elapsed, report


def run(shots: int = 50, size: str = "64x36", repeats: int = 3) -> dict:
    board = storyboard(shots)
    edited = f"s{CHAIN_EVERY:02d}"  # starts a chain of CHAIN shots
    with tempfile.TemporaryDirectory(prefix="nava-bench-") as tmp:
        path = write_project(Path(tmp), board)
        first_s, first = render_cli(path, size)
        noop = [render_cli(path, size) for _ in range(repeats)]
        noop_s = min(seconds for seconds, _ in noop)
        noop_calls = max(len(report["rendered"]) for _, report in noop)
        edit_action(board, edited, "，然后转身离开")
        with open(path, "w", encoding="utf-8") as f:
            YAML().dump(board, f)
        edit_s, edit = render_cli(path, size)
    return {
        "shots": shots,
        "size": size,
        "first_render_s": round(first_s, 2),
        "first_render_engine_calls": len(first["rendered"]),
        "rerender_noop_50_shots_s": round(noop_s, 3),
        "rerender_noop_runs_s": [round(seconds, 3) for seconds, _ in noop],
        "rerender_noop_engine_calls": noop_calls,
        "edited_shot": edited,
        "edited_chain": chain_of(board, edited),
        "rerender_edit_one_shot_rendered": len(edit["rendered"]),
        "rerender_edit_rendered_shots": edit["rendered"],
        "rerender_edit_s": round(edit_s, 2),
    }
