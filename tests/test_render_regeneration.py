"""Only what changed renders again: no change, an edited shot, a swapped voice."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from storyboard_project import ROOT, director, edit, make_storyboard, write_voice

from nava_director.render.run import render


def first_render(tmp_path):
    sb = make_storyboard(tmp_path)
    report = render(director(sb))
    assert sorted(report.rendered) == ["a", "b", "c", "d", "e"] and not report.failed
    return sb


NO_CHANGE = """
import sys
from storyboard_project import director
from nava_director.engines.animatic import AnimaticEngine
from nava_director.render.run import render

calls = []
AnimaticEngine.render = lambda self, request, progress=None: calls.append(request.shot_id)
report = render(director(__import__("pathlib").Path(sys.argv[1])))
assert calls == [], calls
assert report.rendered == [] and sorted(report.reused) == ["a", "b", "c", "d", "e"], report
assert "torch" not in sys.modules, "a no-change run imported torch"
print("film", report.film)
"""


def test_no_change_run_renders_nothing_imports_no_torch_and_cuts_nothing(tmp_path):
    sb = first_render(tmp_path)
    film = tmp_path / "sb.nava" / "film.mp4"
    before = film.stat().st_mtime_ns
    subprocess.run([sys.executable, "-c", NO_CHANGE, str(sb)], cwd=ROOT / "tests", check=True)
    assert film.stat().st_mtime_ns == before  # not cut again
    report = json.loads((tmp_path / "sb.nava" / "report.json").read_text())
    assert report["rendered"] == [] and report["stale"] == [] and report["failed"] == []


def test_editing_a_shot_renders_exactly_it_and_its_continuations(tmp_path):
    sb = first_render(tmp_path)
    edit(sb, "陈默走进院子", "陈默慢慢走进院子")
    report = render(director(sb))
    assert report.rendered == ["c", "d"]
    assert sorted(report.reused) == ["a", "b", "e"]
    assert report.stale == ["c", "d"]


def test_swapping_a_voice_renders_the_shots_where_that_character_speaks(tmp_path):
    sb = first_render(tmp_path)
    write_voice(tmp_path / "voices" / "lin.wav", 300)
    report = render(director(sb))
    assert report.rendered == ["b", "e"]  # lin speaks in b; e continues from b
    assert sorted(report.reused) == ["a", "c", "d"]


def test_reverting_an_edit_reuses_the_old_takes(tmp_path):
    sb = first_render(tmp_path)
    edit(sb, "林然站在院子里", "林然坐在院子里")
    assert render(director(sb)).rendered == ["a", "b", "e"]
    edit(sb, "林然坐在院子里", "林然站在院子里")
    report = render(director(sb))
    assert report.rendered == [] and sorted(report.reused) == ["a", "b", "c", "d", "e"]


def test_a_given_first_frame_is_in_the_key_and_starts_the_shot(tmp_path):
    from PIL import Image

    from nava_director.cut import read_first_frame

    sb = first_render(tmp_path)
    y, x = np.mgrid[0:64, 0:96]
    still = np.stack([x * 255 // 95, y * 255 // 63, np.full_like(x, 90)], axis=-1).astype(np.uint8)  # smooth
    Image.fromarray(still).save(tmp_path / "still.png")
    edit(sb, "        action: 陈默走进院子\n", "        action: 陈默走进院子\n        image: still.png\n")
    assert render(director(sb)).rendered == ["c", "d"]
    first = read_first_frame(director(sb).project.takes("c")[-1].clip).astype(int)
    ramp = [np.corrcoef(row[:, 0], np.arange(96))[0, 1] for row in first if row[:, 0].std() > 0]
    assert sum(r > 0.98 for r in ramp) >= 8  # the still's red ramp shows between the card's panels
    Image.fromarray(255 - still).save(tmp_path / "still.png")
    assert render(director(sb)).rendered == ["c", "d"]


def test_guidance_and_negative_prompt_from_the_config_reach_the_engine_and_the_keys(tmp_path):
    from nava_director.engines.animatic import AnimaticEngine

    sb = first_render(tmp_path)
    (tmp_path / "nava.toml").write_text('guidance = { s_v = 4.0 }\nnegative_prompt = "模糊"\n', encoding="utf-8")
    seen = []
    original = AnimaticEngine.render

    def spy(self, request, progress=None):
        seen.append((tuple(request.guidance.items()), request.negative_prompt))
        return original(self, request, progress)

    AnimaticEngine.render = spy
    try:
        report = render(director(sb))
    finally:
        AnimaticEngine.render = original
    assert sorted(report.rendered) == ["a", "b", "c", "d", "e"]  # both are in every key
    assert set(seen) == {((("s_v", 4.0),), "模糊")}
    (tmp_path / "nava.toml").unlink()
    assert render(director(sb)).rendered == []  # back to the engine's defaults: the first takes again
