"""The cut as an OpenTimelineIO timeline, for an editor to take over (Resolve, Premiere, FCP).

A picture track and a sound track, one clip per shot on each, pointing at the shot's take
file with the source range the film uses. Dissolves are SMPTE dissolves on the picture and
crossfades (the same transition) on the sound; a split edit (J/L cut) shows as the two
tracks cutting at different frames. Each picture clip carries a marker with its shot id,
each sound clip a marker per dialogue line at its subtitle's time.
"""

from __future__ import annotations

from pathlib import Path

from nava_director.cut.edit import Edit, Placement, Span
from nava_director.cut.subtitles import Cue


def _cut_point(span: Span) -> int:
    return span.start + len(span) // 2


def _edges(edit: Edit, side) -> list[int]:
    """The film frames where each track passes from one shot to the next, with 0 and the end."""
    return [0] + [_cut_point(side(p.join_in)) for p in edit.placements[1:]] + [edit.frames]


def _clip(p: Placement, span: Span, fps: int):
    import opentimelineio as otio

    rt = lambda frames: otio.opentime.RationalTime(frames, fps)  # noqa: E731
    media = otio.schema.ExternalReference(
        target_url=Path(p.shot.clip_path).resolve().as_uri(),
        available_range=otio.opentime.TimeRange(rt(0), rt(p.shot.frames)),
    )
    return otio.schema.Clip(
        name=p.shot.shot_id,
        media_reference=media,
        source_range=otio.opentime.TimeRange(rt(p.source_frame(span.start)), rt(len(span))),
        metadata={
            "nava": {
                "shot_id": p.shot.shot_id,
                "continued": p.shot.continued,
                "transition": p.shot.transition,
                "fade_in_s": p.fade_in / fps,
                "fade_out_s": p.fade_out / fps,
            }
        },
    )


def _transition(span: Span, fps: int):
    import opentimelineio as otio

    cut = _cut_point(span)
    return otio.schema.Transition(
        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=otio.opentime.RationalTime(cut - span.start, fps),
        out_offset=otio.opentime.RationalTime(span.stop - cut, fps),
    )


def _track(edit: Edit, name: str, kind, side):
    import opentimelineio as otio

    track = otio.schema.Track(name=name, kind=kind)
    edges = _edges(edit, side)
    for i, p in enumerate(edit.placements):
        if p.join_in and len(side(p.join_in)):
            track.append(_transition(side(p.join_in), edit.fps))
        track.append(_clip(p, Span(edges[i], edges[i + 1]), edit.fps))
    return track


def _marker(name: str, start, seconds: float, fps: int, metadata: dict):
    import opentimelineio as otio

    duration = otio.opentime.RationalTime(seconds * fps, fps)
    return otio.schema.Marker(
        name=name, marked_range=otio.opentime.TimeRange(start, duration), metadata={"nava": metadata}
    )


def timeline(edit: Edit, title: str, cues: list[Cue]):
    """The cut as an `opentimelineio.schema.Timeline`."""
    import opentimelineio as otio

    picture = _track(edit, "picture", otio.schema.TrackKind.Video, lambda j: j.picture)
    sound = _track(edit, "sound", otio.schema.TrackKind.Audio, lambda j: j.sound)
    clips = lambda track: [c for c in track if isinstance(c, otio.schema.Clip)]  # noqa: E731
    for p, shown, heard in zip(edit.placements, clips(picture), clips(sound)):
        dialogue = [{"speaker": s, "line": line} for s, line in p.shot.dialogue]
        meta = {"shot_id": p.shot.shot_id, "dialogue": dialogue}
        shown.markers.append(_marker(p.shot.shot_id, shown.source_range.start_time, 0, edit.fps, meta))
        for cue in (c for c in cues if c.shot_id == p.shot.shot_id):
            name = f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text
            meta = {"shot_id": p.shot.shot_id, "speaker": cue.speaker, "line": cue.text}
            start = otio.opentime.RationalTime(p.source_frame(cue.start * edit.fps), edit.fps)
            heard.markers.append(_marker(name, start, cue.end - cue.start, edit.fps, meta))
    result = otio.schema.Timeline(name=title, global_start_time=otio.opentime.RationalTime(0, edit.fps))
    result.tracks.extend([picture, sound])
    return result


def to_json(edit: Edit, title: str, cues: list[Cue]) -> str:
    return timeline(edit, title, cues).to_json_string()

