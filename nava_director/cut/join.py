"""The film's video stream: the clips' own packets where the film shows their frames as
they are, freshly encoded frames only where it does not.

Clips are written with closed one-second GOPs and content-independent ("stitchable")
H.264 headers, so a whole GOP of any clip can be copied between frames that the cut
encodes itself with the same settings: a dissolve, a fade, a dropped first frame. A clip
whose headers differ from the film's (another encoder, another size) is encoded instead.
The encoded parts are written as small clip files first, so that every part of the film
reaches the muxer the same way: as length-prefixed packets of an mp4 track.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from nava_director.cut.clipfile import PIX_FMT, VIDEO_CODEC, add_video_stream, encode_frames, x264_options
from nava_director.cut.edit import Edit
from nava_director.errors import NavaError


@dataclass(frozen=True)
class SourcePacket:
    data: bytes
    pts: int  # in the clip stream's time base
    dts: int
    keyframe: bool


@dataclass(frozen=True)
class Gop:
    """A closed group of pictures: its packets in decode order show frames [first, stop)."""

    first: int
    stop: int
    packets: tuple[SourcePacket, ...]


@dataclass(frozen=True)
class ClipStream:
    """What a clip file's video stream offers for copying."""

    path: Path
    codec: str
    extradata: bytes
    size: tuple[int, int]
    time_base: Fraction
    origin: int  # pts of the first frame
    frames: int
    gops: tuple[Gop, ...]


@dataclass(frozen=True)
class Copy:
    start: int  # film frame of the GOP's first frame
    clip: ClipStream
    gop: Gop


@dataclass(frozen=True)
class Encode:
    start: int
    stop: int


Segment = Copy | Encode


def read_stream(path: Path, fps: int) -> ClipStream:
    """Demux a clip's video packets, grouped into closed GOPs (no decoding)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        packets = [
            SourcePacket(bytes(p), p.pts, p.dts, p.is_keyframe)
            for p in container.demux(stream)
            if p.size and p.pts is not None
        ]
        codec, extradata = stream.codec_context.name, bytes(stream.codec_context.extradata or b"")
        size = (stream.width, stream.height)
    origin = packets[0].pts if packets else 0
    frame_of = lambda pts: round((pts - origin) * tb * fps)  # noqa: E731
    groups: list[list[SourcePacket]] = []
    for packet in packets:
        if packet.keyframe or not groups:
            groups.append([])
        groups[-1].append(packet)
    gops = []
    for group in groups:
        shown = sorted(frame_of(p.pts) for p in group)
        if group[0].keyframe and shown == list(range(shown[0], shown[0] + len(shown))):
            gops.append(Gop(shown[0], shown[-1] + 1, tuple(group)))
    return ClipStream(Path(path), codec, extradata, size, tb, origin, len(packets), tuple(gops))


def plan_segments(edit: Edit, streams: dict[Path, ClipStream], headers: tuple[bytes, ...]) -> list[Segment]:
    """Copy every GOP that lies wholly in a shot's untouched frames; encode the rest."""
    copies: list[Copy] = []
    for p in edit.placements:
        clip = streams.get(p.shot.clip_path)
        if clip is None or clip.codec != "h264" or parameter_sets(clip.extradata) != headers:
            continue
        clean = p.clean
        lo, hi = p.source_frame(clean.start), p.source_frame(clean.stop)
        copies += [Copy(p.start + g.first - p.head, clip, g) for g in clip.gops if lo <= g.first and g.stop <= hi]
    segments: list[Segment] = []
    at = 0
    for copy in sorted(copies, key=lambda c: c.start):
        if copy.start > at:
            segments.append(Encode(at, copy.start))
        segments.append(copy)
        at = copy.start + copy.gop.stop - copy.gop.first
    if at < edit.frames:
        segments.append(Encode(at, edit.frames))
    return segments


def parameter_sets(extradata: bytes) -> tuple[bytes, ...]:
    """The SPS and PPS NAL units in H.264 extradata, whether avcC (mp4) or Annex B (raw)."""
    if extradata[:1] == b"\x01":  # avcC: counted, length-prefixed SPS then PPS lists
        units, at = [], 5
        for mask in (0x1F, 0xFF):
            count, at = extradata[at] & mask, at + 1
            for _ in range(count):
                size = int.from_bytes(extradata[at : at + 2], "big")
                units.append(extradata[at + 2 : at + 2 + size])
                at += 2 + size
        return tuple(units)
    return tuple(u.strip(b"\x00") for u in extradata.split(b"\x00\x00\x01") if u.strip(b"\x00"))


def film_headers(size: tuple[int, int], fps: int, crf: int) -> tuple[bytes, ...]:
    """The SPS/PPS that every part of the film must carry: those of a fresh encoder."""
    import av
    from av.codec.context import Flags

    encoder = av.CodecContext.create(VIDEO_CODEC, "w")
    encoder.width, encoder.height, encoder.pix_fmt = *size, PIX_FMT
    encoder.time_base, encoder.framerate = Fraction(1, fps), Fraction(fps)
    encoder.flags |= Flags.global_header
    encoder.options = x264_options(fps, crf)
    encoder.open()
    return parameter_sets(bytes(encoder.extradata))


def encode_segment(segment: Encode, frame_at: Callable[[int], np.ndarray], size, fps: int, crf: int, path: Path):
    """Encode the film frames of `segment` into a video-only clip file at `path`."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        stream = add_video_stream(container, *size, fps, crf)
        encode_frames(container, stream, (frame_at(t) for t in range(segment.start, segment.stop)))


def materialise(segments: list[Segment], encode: Callable[[Encode, Path], None], workdir: Path, fps: int) -> list[Copy]:
    """Every segment as GOPs to copy: the encoded ones are written to files in `workdir` first."""
    copies: list[Copy] = []
    for i, segment in enumerate(segments):
        if isinstance(segment, Copy):
            copies.append(segment)
            continue
        path = workdir / f".segment-{i:04d}.partial"
        encode(segment, path)
        clip = read_stream(path, fps)
        copies += [Copy(segment.start + g.first, clip, g) for g in clip.gops]
    return copies


def video_packets(copies: list[Copy], fps: int, headers: tuple[bytes, ...]) -> Iterator:
    """The film's video packets in decode order, each in its source's time base."""
    import av

    for copy in copies:
        if parameter_sets(copy.clip.extradata) != headers:
            raise NavaError(f"{copy.clip.path} carries H.264 headers unlike the film's", hint="report this as a bug")
        tb = copy.clip.time_base
        shift = Fraction(copy.start - copy.gop.first, fps) / tb - copy.clip.origin
        if shift.denominator != 1:
            raise NavaError(f"{copy.clip.path}: its time base does not divide its frame rate")
        for source in copy.gop.packets:
            packet = av.Packet(source.data)
            packet.pts, packet.dts = source.pts + int(shift), source.dts + int(shift)
            packet.time_base, packet.is_keyframe = tb, source.keyframe
            yield packet
