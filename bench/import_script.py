"""`import` on a long screenplay: parse, map, write and load (validate) the storyboard.

The test scripts (``tests/data/fountain``, Chinese and English, every element) are joined
``copies`` times into one screenplay, about a feature's length at 60 copies (~3,500 lines);
the whole ``import_fountain`` is timed, and the parse alone.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from nava_director.authoring import fountain
from nava_director.authoring.screenplay import import_fountain

SCRIPTS = Path(__file__).resolve().parents[1] / "tests" / "data" / "fountain"


def long_script(copies: int) -> str:
    bodies = []
    for path in sorted(SCRIPTS.glob("*.fountain")):
        text = path.read_text(encoding="utf-8")
        bodies.append(text.split("\n\n", 1)[1])  # without its title page
    return "Title: Long\n\n" + "\n\n".join(bodies * copies)


def run(copies: int = 60) -> dict:
    text = long_script(copies)
    started = time.perf_counter()
    fountain.parse(text)
    parse_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "long.fountain"
        script.write_text(text, encoding="utf-8")
        started = time.perf_counter()
        imported = import_fountain(script, Path(folder) / "long.yaml")
        import_s = time.perf_counter() - started
    shots = len(imported.loaded.storyboard.shots())
    return {"lines": text.count("\n") + 1, "shots": shots, "parse_s": round(parse_s, 3),
            "import_s": round(import_s, 3), "import_script_lines_per_s": round((text.count("\n") + 1) / import_s)}
