"""The edit: where every shot's picture and sound sit on the film's timeline.

Times here are whole frames at the render rate. A shot's transition belongs to the join
that leads into it. Shots have no handles (a clip is all there is), so every overlap is
taken out of the two clips it joins:

- a dissolve of D frames overlaps them by D frames; the picture dissolves and the sound
  crossfades over the same D frames;
- a J cut (``audio_lead_s``) lets the incoming shot's sound start before its picture and an
  L cut (``audio_lag_s``) lets the outgoing shot's sound run on under the incoming
  picture: a split edit that overlaps the shots by the lead (lag), the picture taken from
  one shot and the sound from the other, so both stay in sync;
- ``fade-in`` fades the shot up from black at its head, ``fade-out`` down to black at its tail;
- a continued shot's first frame (a copy of the upstream shot's last) is dropped.

The film lasts the sum of the clips minus the overlaps and the dropped frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from nava_director.errors import InputError

Transition = Literal["cut", "dissolve", "fade-in", "fade-out"]


@dataclass
class CutShot:
    """One shot as the cut sees it: its chosen take's clip file and how it joins the film."""

    shot_id: str
    clip_path: Path  # the take's clip.mp4
    frames: int
    fps: int  # the render rate
    continued: bool = False
    transition: Transition = "cut"  # the transition leading into this shot
    transition_s: float = 0.5
    audio_lead_s: float = 0.0  # J cut: this shot's sound starts before its picture
    audio_lag_s: float = 0.0  # L cut: the previous shot's sound runs on under this picture
    dialogue: list[tuple[str, str]] = field(default_factory=list)  # (speaker name, line)


@dataclass(frozen=True)
class Span:
    """Film frames [start, stop); empty (start == stop) for a hard switch at `start`."""

    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Join:
    """The join between two shots: where the picture and the sound pass from one to the other."""

    picture: Span  # the dissolve, or the cut point
    sound: Span  # the crossfade, or the switch point


@dataclass(frozen=True)
class Placement:
    """One shot on the film timeline."""

    shot: CutShot
    head: int  # source frames dropped at the head
    start: int  # film frame of the first used source frame
    length: int  # source frames used
    join_in: Join | None
    join_out: Join | None
    fade_in: int  # frames
    fade_out: int

    @property
    def stop(self) -> int:
        return self.start + self.length

    @property
    def picture(self) -> Span:
        """Film frames where this shot's picture is (at least partly) seen."""
        first = self.join_in.picture.start if self.join_in else self.start
        last = self.join_out.picture.stop if self.join_out else self.stop
        return Span(first, last)

    @property
    def sound(self) -> Span:
        """Film frames where this shot's sound is (at least partly) heard."""
        first = self.join_in.sound.start if self.join_in else self.start
        last = self.join_out.sound.stop if self.join_out else self.stop
        return Span(first, last)

    @property
    def clean(self) -> Span:
        """Film frames that show this shot's source frames untouched (no dissolve, no fade)."""
        first = max(self.join_in.picture.stop if self.join_in else self.start, self.picture.start + self.fade_in)
        last = min(self.join_out.picture.start if self.join_out else self.stop, self.picture.stop - self.fade_out)
        return Span(first, max(first, last))

    def source_frame(self, t: int) -> int:
        """The clip's frame index shown at film frame `t`."""
        return t - self.start + self.head


@dataclass(frozen=True)
class Edit:
    placements: list[Placement]
    fps: int

    @property
    def frames(self) -> int:
        return self.placements[-1].stop if self.placements else 0


def to_frames(seconds: float, fps: int) -> int:
    return round(seconds * fps)


def _join(prev_stop: int, shot: CutShot, fps: int) -> tuple[int, Join]:
    """The incoming shot's start frame and its join, given where the outgoing shot stops."""
    blend = to_frames(shot.transition_s, fps) if shot.transition == "dissolve" else 0
    offset = to_frames(shot.audio_lead_s, fps) - to_frames(shot.audio_lag_s, fps)
    start = prev_stop - blend - abs(offset)
    picture_at = start + max(offset, 0)
    sound_at = start + max(-offset, 0)
    return start, Join(Span(picture_at, picture_at + blend), Span(sound_at, sound_at + blend))


def _lay_out(shots: list[CutShot], fps: int) -> list[Placement]:
    """The shots end to end with their joins, unchecked."""
    placements: list[Placement] = []
    for i, shot in enumerate(shots):
        head = 1 if shot.continued and i > 0 else 0
        fade = to_frames(shot.transition_s, fps)
        if placements:
            start, join = _join(placements[-1].stop, shot, fps)
            placements[-1] = replace(placements[-1], join_out=join)
        else:
            start, join = 0, None
        placements.append(
            Placement(
                shot=shot,
                head=head,
                start=start,
                length=shot.frames - head,
                join_in=join,
                join_out=None,
                fade_in=fade if shot.transition == "fade-in" else 0,
                fade_out=fade if shot.transition == "fade-out" else 0,
            )
        )
    return placements


TOO_SHORT_FIX = "shorten transition_s / audio_lead_s / audio_lag_s, or lengthen the shot"


def join_problems(shots: list[CutShot], fps: int) -> list[tuple[int, str, str]]:
    """(index, what, fix) of every shot whose joins the cut cannot make: the one rule that
    :func:`plan_edit` enforces and that `validate` reports at the storyboard's lines."""
    both = [(i, f"shot {s.shot_id!r} has both audio_lead_s and audio_lag_s: its sound cannot start "
                "before its picture and after it at once",
             "keep one: audio_lead_s for a J cut, audio_lag_s for an L cut")
            for i, s in enumerate(shots) if i > 0 and s.audio_lead_s > 0 and s.audio_lag_s > 0]
    if both:
        return both
    problems = []
    for i, p in enumerate(_lay_out(shots, fps)):
        shared_in = max(p.join_in.picture.stop, p.join_in.sound.stop) - p.start if p.join_in else 0
        shared_out = p.stop - min(p.join_out.picture.start, p.join_out.sound.start) if p.join_out else 0
        if p.length < 1 or shared_in + shared_out > p.length or p.fade_in + p.fade_out > len(p.picture):
            problems.append((i, f"shot {p.shot.shot_id!r} ({p.length / p.shot.fps:.2f} s) is too short for its "
                                "transitions, J/L cuts and fades", TOO_SHORT_FIX))
    return problems


def plan_edit(shots: list[CutShot], fps: int) -> Edit:
    """Lay the shots end to end with their joins; refuse overlaps that the clips cannot hold."""
    for shot in shots:
        if shot.fps != fps:
            raise InputError(
                f"shot {shot.shot_id!r} was rendered at {shot.fps} fps, the others at {fps}",
                hint="render every shot of a film at one rate",
            )
    if problems := join_problems(shots, fps):
        _, what, fix = problems[0]
        raise InputError(what, hint=fix)
    return Edit(_lay_out(shots, fps), fps)
