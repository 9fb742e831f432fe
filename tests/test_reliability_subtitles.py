"""Awkward dialogue text through the real cut: one cue per line in the SRT, the VTT and the
mp4's mov_text track, each decoded back to the text that was written."""

from __future__ import annotations

import html
import re

import av
import numpy as np
import pytest

from nava_director.cut import CutSettings, CutShot, cut_film, write_clip
from nava_director.cut.subtitles import WORD_JOINER, cue_text
from nava_director.engines.base import Clip

FPS, RATE, FRAMES = 24, 48_000, 48

LINES = [
    "第一句\n\n第二句",  # a blank line inside: must not split the cue
    "a --> b",
    "00:00:01,000 --> 00:00:02,000",  # looks like an SRT timing line
    "<i>not italic</i>",
    "<html>",
    "a < b & c > d",
    "{\\an8}top",
    "back\\slash and \\N and \\h",
    "  windows\r\n  line  ",
    "&amp; literal &lt;",
    "line\u2028separator",
    "NOTE this is not a VTT comment",
    "WEBVTT",
    "1",
]


def _clip() -> Clip:
    frames = np.full((FRAMES, 32, 48, 3), 90, np.uint8)
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(FRAMES * RATE // FPS) / RATE)).astype(np.float32)
    return Clip(frames, np.stack([tone, tone]), RATE, FPS)


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subs")
    path = write_clip(_clip(), folder / "take.mp4")
    shots = [CutShot(f"s{i}", path, FRAMES, FPS, dialogue=[("Dr <Li>\n", LINES[j]) for j in range(i, len(LINES), 3)])
             for i in range(3)]
    return cut_film(shots, folder / "film", CutSettings())


def _order() -> list[str]:
    return [cue_text(LINES[j]) for i in range(3) for j in range(i, len(LINES), 3)]


def _srt_cues(text: str) -> list[str]:
    blocks = text.strip("\n").split("\n\n")
    out = []
    for block in blocks:
        index, timing, *body = block.split("\n")
        assert index.isdigit() and re.fullmatch(r"[\d:,]+ --> [\d:,]+", timing), block
        assert not any("-->" in line for line in body)
        out.append("\n".join(body).replace(WORD_JOINER, ""))
    return out


def test_normalised_text_keeps_inner_breaks_and_drops_blank_lines():
    assert cue_text("第一句\n\n第二句") == "第一句\n第二句"
    assert cue_text("  a \r\n\r\n b\u2029c  ") == "a\nb\nc"
    assert cue_text(" \n \n") == ""


def test_srt_holds_one_cue_per_line_with_its_text(film):
    assert _srt_cues(film.paths["srt"].read_text(encoding="utf-8")) == _order()


def test_vtt_holds_one_cue_per_line_with_its_text(film):
    text = film.paths["vtt"].read_text(encoding="utf-8")
    header, *blocks = text.strip("\n").split("\n\n")
    assert header == "WEBVTT"
    got = []
    for block in blocks:
        timing, *body = block.split("\n")
        assert re.fullmatch(r"[\d:.]+ --> [\d:.]+", timing), block
        joined = "\n".join(body)
        assert "-->" not in joined and joined.startswith("<v Dr &lt;Li&gt;>")
        got.append(html.unescape(joined.removeprefix("<v Dr &lt;Li&gt;>")))
    assert got == _order()


def test_the_mp4_subtitle_track_decodes_to_every_line(film):
    texts = []
    with av.open(str(film.paths["mp4"])) as container:
        assert container.streams.subtitles[0].codec_context.name == "mov_text"
        for packet in container.demux(subtitles=0):
            data = bytes(packet)
            if len(data) > 2:
                n = int.from_bytes(data[:2], "big")
                texts.append(data[2:2 + n].decode("utf-8").replace(WORD_JOINER, ""))
    assert texts == _order()
