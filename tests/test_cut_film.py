"""cut_film end to end: tiny synthetic takes in, film.mp4/.srt/.vtt/.otio out, decoded and checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pyloudnorm
import pytest

from nava_director.clip import Clip
from nava_director.cut import CutSettings, CutShot, cut_film, write_clip
from nava_director.cut.clipfile import read_audio
from nava_director.cut.loudness import true_peak_db

FPS, RATE, FRAMES = 24, 48_000, 49
COLORS = {"a": (200, 0, 0), "b": (0, 200, 0), "c": (0, 0, 200)}
TONES = {"a": 440.0, "b": 660.0, "c": 550.0}


def take(name: str, frames: int = FRAMES) -> Clip:
    """A solid-coloured clip whose top row of 8x8 blocks spells its frame number in binary,
    with a tone that starts at its peak (a hard cut to it would jump)."""
    images = np.zeros((frames, 48, 64, 3), np.uint8)
    images[...] = COLORS[name]
    bits = (np.arange(frames)[:, None] >> np.arange(8)) & 1
    images[:, :8] = np.repeat(bits * 255, 8, axis=1)[:, None, :, None]
    t = np.arange(frames * RATE // FPS) / RATE
    tone = (0.2 * np.cos(2 * np.pi * TONES[name] * t)).astype(np.float32)
    return Clip(images, np.stack([tone, tone]), RATE, FPS)


@pytest.fixture(scope="module")
def takes(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("takes")
    return {name: write_clip(take(name), folder / f"{name}.mp4") for name in COLORS}


def shots(takes, **per_shot) -> list[CutShot]:
    dialogue = {"a": [("Ann", "你好，世界"), ("Bob", "hello there")], "b": [("Bob", "再见")], "c": []}
    return [CutShot(n, takes[n], FRAMES, FPS, dialogue=dialogue[n], **per_shot.get(n, {})) for n in COLORS]


def decode(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with av.open(str(path)) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    return frames, read_audio(path)


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def corner(frame: np.ndarray) -> int:
    """The source frame index a frame shows, read from its binary counter."""
    bits = frame[2:6].reshape(4, 8, 8, 3).mean(axis=(0, 2, 3)) > 128
    return int(sum(int(b) << i for i, b in enumerate(bits)))


@pytest.fixture(scope="module")
def plain(takes, tmp_path_factory):
    """Three hard cuts: every clip should go in by stream copy."""
    return cut_film(shots(takes), tmp_path_factory.mktemp("plain"), CutSettings())


def test_streams_rate_and_length(plain):
    with av.open(str(plain.paths["mp4"])) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        subtitle = container.streams.subtitles[0]
        assert video.codec_context.name == "h264" and video.average_rate == FPS
        assert (audio.codec_context.name, audio.sample_rate, audio.layout.name) == ("aac", RATE, "stereo")
        assert subtitle.codec_context.name == "mov_text" and subtitle.metadata["language"] == "chi"
    frames, sound = decode(plain.paths["mp4"])
    assert len(frames) == 3 * FRAMES and plain.duration_s == pytest.approx(3 * FRAMES / FPS)
    assert abs(sound.shape[1] - 3 * FRAMES * RATE // FPS) <= 1024  # one AAC frame of padding at most
    assert [corner(f) for f in frames[FRAMES - 2 : FRAMES + 2]] == [FRAMES - 2, FRAMES - 1, 0, 1]


def test_clips_that_agree_are_stream_copied(plain, takes):
    assert plain.stream_copied and not plain.reused
    assert video_packets(plain.paths["mp4"]) == [p for n in COLORS for p in video_packets(takes[n])]


def test_a_peaky_mix_is_limited_below_minus_one_dbtp_in_the_decoded_film(tmp_path):
    """Sparse clicks over a quiet bed: raising it to -16 LUFS would push the clicks far over
    full scale, so the limiter must hold them; checked on the AAC the film carries."""
    clip = take("a")
    rng = np.random.default_rng(0)
    bed = (0.01 * rng.standard_normal(clip.audio.shape[1])).astype(np.float32)
    bed[:: RATE // 8] = 0.9  # eight clicks a second
    path = write_clip(Clip(clip.frames, np.stack([bed, bed]), RATE, FPS), tmp_path / "peaky.mp4")
    film = cut_film([CutShot("a", path, FRAMES, FPS)], tmp_path / "film", CutSettings())
    _, sound = decode(film.paths["mp4"])
    assert pyloudnorm.Meter(RATE).integrated_loudness(sound.T.astype(np.float64)) == pytest.approx(-16, abs=1)
    assert true_peak_db(sound) < -0.5  # -1 dBTP before encoding; AAC may overshoot by a fraction of a dB


def test_loudness_is_normalised_to_the_target(plain, takes, tmp_path):
    _, sound = decode(plain.paths["mp4"])
    meter = pyloudnorm.Meter(RATE)
    assert meter.integrated_loudness(sound.T.astype(np.float64)) == pytest.approx(-16, abs=1)
    quiet = cut_film(shots(takes), tmp_path, CutSettings(loudness_lufs=-23))
    _, sound = decode(quiet.paths["mp4"])
    assert meter.integrated_loudness(sound.T.astype(np.float64)) == pytest.approx(-23, abs=1)


def test_no_click_at_the_joins(plain):
    _, sound = decode(plain.paths["mp4"])
    step = np.abs(np.diff(sound[0]))
    joins = [j * FRAMES * RATE // FPS for j in (1, 2)]
    near = np.concatenate([step[j - 480 : j + 480] for j in joins])
    bodies = [step[j + RATE // 4 : j + RATE] for j in (0, *joins)]  # inside each shot, away from joins
    # a hard join between these tones would jump by ~0.35 of full scale; the sine's own steps are ~0.015
    assert near.max() <= 1.25 * max(b.max() for b in bodies) < 0.03


def test_subtitles_are_timed_inside_their_shots(plain):
    srt = plain.paths["srt"].read_text(encoding="utf-8")
    times = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)", srt)
    secs = [
        (int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000, int(h2) * 3600 + int(m2) * 60 + int(s2) + int(ms2) / 1000)
        for h, m, s, ms, h2, m2, s2, ms2 in times
    ]
    shot = FRAMES / FPS
    # shot a's two lines share it by spoken length (4 characters : 2 words); shot b's one line fills it
    expected = [0, shot * 4 / 6, shot * 4 / 6, shot, shot, 2 * shot]
    assert [t for cue in secs for t in cue] == pytest.approx(expected, abs=0.001)
    assert "你好，世界" in srt and "hello there" in srt
    vtt = plain.paths["vtt"].read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    assert re.findall(r"^(\S+) --> (\S+)\n<v (\w+)>(.*)$", vtt, re.M) == [
        ("00:00:00.000", "00:00:01.361", "Ann", "你好，世界"),
        ("00:00:01.361", "00:00:02.042", "Bob", "hello there"),
        ("00:00:02.042", "00:00:04.083", "Bob", "再见"),
    ]
    with av.open(str(plain.paths["mp4"])) as container:
        assert sum(1 for p in container.demux(subtitles=0) if p.size) == 3


def test_otio_timeline_reads_back(plain, takes):
    timeline = otio.adapters.read_from_file(str(plain.paths["otio"]))
    picture, sound = timeline.tracks
    assert picture.kind == otio.schema.TrackKind.Video and sound.kind == otio.schema.TrackKind.Audio
    clips = list(picture.find_clips())
    assert [c.name for c in clips] == list(COLORS)
    assert [c.source_range.duration.to_frames() for c in clips] == [FRAMES] * 3
    assert clips[1].media_reference.target_url == takes["b"].resolve().as_uri()
    assert picture.duration().to_frames() == sound.duration().to_frames() == 3 * FRAMES
    assert [m.name for m in clips[0].markers] == ["a"]
    lines = [m.metadata["nava"]["line"] for c in sound.find_clips() for m in c.markers]
    assert lines == ["你好，世界", "hello there", "再见"]


def test_an_unchanged_film_is_not_cut_again(plain, takes):
    mtime = plain.paths["mp4"].stat().st_mtime_ns
    again = cut_film(shots(takes), plain.paths["mp4"].parent, CutSettings())
    assert again.reused and again.key == plain.key and again.stream_copied
    assert plain.paths["mp4"].stat().st_mtime_ns == mtime
    assert json.loads((plain.paths["mp4"].parent / "film.json").read_text())["key"] == plain.key
    retitled = cut_film(shots(takes), plain.paths["mp4"].parent, CutSettings(title="another"))
    assert not retitled.reused and retitled.key != plain.key
    assert not [p for p in plain.paths["mp4"].parent.iterdir() if p.name.startswith(".")]


def test_dissolve_overlaps_the_shots(takes, tmp_path):
    cut = shots(takes, b={"transition": "dissolve", "transition_s": 0.5})
    film = cut_film(cut, tmp_path, CutSettings())
    frames, sound = decode(film.paths["mp4"])
    assert len(frames) == 3 * FRAMES - 12 and film.duration_s == pytest.approx((3 * FRAMES - 12) / FPS)
    centre = frames[:, 30, 40].astype(int)
    both = np.flatnonzero((centre[:, 0] > 12) & (centre[:, 1] > 12))
    assert list(both) == list(range(FRAMES - 12, FRAMES))  # red and green together for exactly 12 frames
    assert np.all(np.diff(centre[both, 1]) > 0)  # green rising through the dissolve
    assert film.stream_copied  # the GOPs away from the dissolve still go in untouched
    # under the dissolve the sound crossfades: both tones are there, halfway through
    mid = sound[0, (FRAMES - 6) * 2000 - 1200 : (FRAMES - 6) * 2000 + 1200]
    spectrum = np.abs(np.fft.rfft(mid * np.hanning(mid.size)))
    freqs = np.fft.rfftfreq(mid.size, 1 / RATE)
    level = lambda f: spectrum[np.argmin(np.abs(freqs - f))]  # noqa: E731
    assert level(440) > 0.3 * level(660) and level(660) > 0.3 * level(440)
    timeline = otio.adapters.read_from_file(str(film.paths["otio"]))
    transitions = [t for t in timeline.tracks[0] if isinstance(t, otio.schema.Transition)]
    assert [(t.in_offset.to_frames(), t.out_offset.to_frames()) for t in transitions] == [(6, 6)]


def test_continued_shot_drops_its_first_frame_and_its_audio(takes, tmp_path):
    film = cut_film(shots(takes, b={"continued": True}), tmp_path, CutSettings())
    frames, sound = decode(film.paths["mp4"])
    assert len(frames) == 3 * FRAMES - 1
    assert [corner(f) for f in frames[FRAMES - 1 : FRAMES + 2]] == [FRAMES - 1, 1, 2]
    # b's tone resumes where its second frame begins: its phase one frame (2000 samples) in
    start = FRAMES * 2000
    t = (np.arange(start + 400, start + 1600) - start + 2000) / RATE
    expected = np.cos(2 * np.pi * TONES["b"] * t)
    assert np.corrcoef(sound[0, start + 400 : start + 1600], expected)[0, 1] > 0.99


@pytest.mark.parametrize("fps", [25, 30])
def test_retimed_to_the_film_rate(takes, tmp_path, fps):
    film = cut_film(shots(takes), tmp_path, CutSettings(fps=fps))
    with av.open(str(film.paths["mp4"])) as container:
        assert container.streams.video[0].average_rate == fps
    frames, sound = decode(film.paths["mp4"])
    n = round(3 * FRAMES * fps / 24)
    assert len(frames) == n and film.duration_s == pytest.approx(n / fps)
    assert abs(sound.shape[1] - n * RATE // fps) <= 1024
    shown = [corner(f) for f in frames[:fps]]  # one second: the 24 rendered frames, some of them twice
    assert shown == sorted(shown) and len(set(shown)) == 24
    assert not film.stream_copied


def test_fade_in_and_out_to_black(takes, tmp_path):
    cut = shots(takes, a={"transition": "fade-in", "transition_s": 0.5}, c={"transition": "fade-out"})
    frames, sound = decode(cut_film(cut, tmp_path, CutSettings()).paths["mp4"])
    brightness = frames[:, 20:, 20:].mean(axis=(1, 2, 3))
    assert brightness[0] < 3 and brightness[-1] < 3
    assert np.all(np.diff(brightness[:12]) > 0) and np.all(np.diff(brightness[-12:]) < 0)
    assert np.abs(sound[:, :200]).max() < 0.05 * np.abs(sound).max()


def test_j_cut_lets_the_next_shot_be_heard_first(takes, tmp_path):
    film = cut_film(shots(takes, b={"audio_lead_s": 0.25}), tmp_path, CutSettings())
    frames, sound = decode(film.paths["mp4"])
    assert len(frames) == 3 * FRAMES - 6
    assert corner(frames[FRAMES - 1]) == FRAMES - 1 and frames[FRAMES, 30, 40, 1] > 150  # picture cuts at 49
    heard = sound[0, (FRAMES - 4) * 2000 : (FRAMES - 1) * 2000]  # under a's last frames: b's tone
    spectrum = np.abs(np.fft.rfft(heard))
    freqs = np.fft.rfftfreq(heard.size, 1 / RATE)
    assert abs(freqs[np.argmax(spectrum)] - TONES["b"]) < 30


def test_burnt_in_subtitles_replace_the_soft_track(takes, tmp_path):
    film = cut_film(shots(takes), tmp_path, CutSettings(burn_subtitles=True, language="en"))
    with av.open(str(film.paths["mp4"])) as container:
        assert not container.streams.subtitles
    frames, _ = decode(film.paths["mp4"])
    lower = frames[:, 30:, :, :].astype(int)
    white = (lower.min(axis=-1) > 180).sum(axis=(1, 2))
    assert white[:2 * FRAMES].min() > 0 and white[2 * FRAMES + 2 :].max() == 0  # shot c has no line


def test_a_clip_that_disagrees_is_encoded_not_copied(takes, tmp_path):
    """A take from another encoder setup (default x264 headers, long GOP) cannot be copied
    next to the others: its frames are encoded into the film, the others still copied."""
    odd = tmp_path / "odd.mp4"
    with av.open(str(odd), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "30"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for image in take("b").frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
        audio = container.add_stream("aac", rate=RATE)
        container.mux(audio.encode(None))
    cut = shots(takes)
    cut[1].clip_path = odd
    film = cut_film(cut, tmp_path / "film", CutSettings())
    packets = video_packets(film.paths["mp4"])
    assert film.stream_copied
    assert packets[:25] == video_packets(takes["a"])[:25] and packets[-25:] == video_packets(takes["c"])[-25:]
    assert not set(video_packets(odd)) & set(packets)
    frames, _ = decode(film.paths["mp4"])
    assert len(frames) == 3 * FRAMES
    assert [corner(f) for f in frames[FRAMES - 1 : FRAMES + 2]] == [FRAMES - 1, 0, 1]
