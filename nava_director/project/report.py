"""report.json: what one run did (a no-change run too), and the film it cut."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Failure(BaseModel):
    shot: str
    error: str


class CaptionNote(BaseModel):
    writer: str
    fallback: bool = False


class Film(BaseModel):
    """The film a run cut (or found already cut: ``cut`` False)."""

    path: str  # film.mp4
    files: dict[str, str]  # mp4, srt, vtt, otio
    duration_s: float
    key: str  # the film's key (cut/film.py)
    cut: bool  # cut by this run; False: the film on disk was already this cut


class FilmFailure(BaseModel):
    """The cut failed: the takes are kept."""

    error: str


class ShotChecks(BaseModel):
    """What the take checks said of a shot's take in the film (nava_director/checks)."""

    take: int  # the take the film uses
    failed: list[str] = Field(default_factory=list)  # its checks that failed (the chain's drift included)
    warned: list[str] = Field(default_factory=list)
    retakes: int = 0  # takes this run rendered again because a take failed (--retake)
    chosen_by_checks: bool = False  # the take was chosen by the checks among the retakes


class Report(BaseModel):
    rendered: list[str] = Field(default_factory=list)
    reused: list[str] = Field(default_factory=list)
    stale: list[str] = Field(default_factory=list)
    locked: list[str] = Field(default_factory=list)
    failed: list[Failure] = Field(default_factory=list)
    captions: dict[str, CaptionNote] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    film: Film | FilmFailure | None = None  # None: not cut (a shot failed)
    ranks: dict[str, int] = Field(default_factory=dict)  # --gpus: shot -> the rank that led its render
    new_takes: dict[str, list[int]] = Field(default_factory=dict)  # --takes: shot -> the takes made, not in the film
    set_aside: list[str] = Field(default_factory=list)  # damaged takes / manifest kept aside, and why
    checks: dict[str, ShotChecks] = Field(default_factory=dict)  # shot -> its film take's checks (measured ones)
