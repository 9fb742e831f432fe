"""write_clip / read_clip: the clip file format every take is stored in."""

from __future__ import annotations

import av
import numpy as np
import pytest

from nava_director.clip import Clip
from nava_director.cut.clipfile import read_clip, read_first_frame, read_last_frame, write_clip
from nava_director.errors import NavaError


def ramp_clip(frames: int = 13, rate: int = 16_000, seconds_of_audio: float | None = None) -> Clip:
    images = np.zeros((frames, 48, 64, 3), np.uint8)
    images[..., 0] = np.linspace(0, 255, frames, dtype=np.uint8)[:, None, None]
    n = int(rate * (seconds_of_audio if seconds_of_audio is not None else frames / 24))
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / rate).astype(np.float32)
    return Clip(frames=images, audio=np.stack([tone, -tone]), sample_rate=rate, fps=24)


def test_streams_are_h264_and_aac_stereo_48k(tmp_path):
    path = write_clip(ramp_clip(), tmp_path / "clip.mp4")
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.width, video.height, video.average_rate) == (64, 48, 24)
        assert audio.codec_context.name == "aac"
        assert (audio.sample_rate, audio.layout.name) == (48_000, "stereo")


def test_round_trip_resamples_and_keeps_picture_and_sound(tmp_path):
    clip = ramp_clip()
    back = read_clip(write_clip(clip, tmp_path / "clip.mp4"))
    assert back.frames.shape == clip.frames.shape and back.fps == 24
    assert np.abs(back.frames.astype(int) - clip.frames).mean() < 2
    assert back.sample_rate == 48_000 and back.audio.shape == (2, 13 * 2000)
    t = np.arange(back.audio.shape[1]) / 48_000
    expected = 0.3 * np.sin(2 * np.pi * 440 * t)
    body = slice(2000, -2000)  # AAC edges aside, the tone is where it was, in both channels
    assert np.corrcoef(back.audio[0, body], expected[body])[0, 1] > 0.999
    assert np.corrcoef(back.audio[1, body], -expected[body])[0, 1] > 0.999


@pytest.mark.parametrize("seconds", [0.1, 2.0])
def test_audio_is_padded_or_trimmed_to_the_frames(tmp_path, seconds):
    back = read_clip(write_clip(ramp_clip(seconds_of_audio=seconds), tmp_path / "clip.mp4"))
    assert back.audio.shape[1] == 13 * 2000
    if seconds < 13 / 24:  # padded with silence
        assert np.abs(back.audio[:, 6000:]).max() < 0.01


def test_first_and_last_frame(tmp_path):
    path = write_clip(ramp_clip(frames=49), tmp_path / "clip.mp4")  # three GOPs: the last is sought
    assert abs(int(read_first_frame(path)[10, 10, 0]) - 0) <= 3
    assert abs(int(read_last_frame(path)[10, 10, 0]) - 255) <= 3


def test_write_is_atomic_and_leaves_no_partial_file(tmp_path):
    path = tmp_path / "clip.mp4"
    write_clip(ramp_clip(), path)
    bad = ramp_clip()
    bad.frames = bad.frames[:, :47]  # odd height: the encoder refuses it
    with pytest.raises(NavaError, match="yuv420p"):
        write_clip(bad, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    assert read_clip(path).frames.shape[0] == 13
