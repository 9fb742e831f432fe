"""The render plan: a loaded storyboard as an ordered list of shot jobs.

Each :class:`ShotJob` says what one shot renders — its length in frames at NAVA's 24 fps
and in audio tokens (the engine's rule: ``engine/lengths.py``), its speakers, where its
first frame comes from — and carries the storyboard's models of the shot and its scene, so
that nothing downstream re-reads the YAML. Jobs are in render order: storyboard order,
except that a continued shot always comes after the shot it continues from. Cache keys are
not made here (``project/keys.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.lengths import audio_tokens, frames_for_seconds
from nava_director.storyboard.load import LoadedStoryboard
from nava_director.storyboard.model import RENDER_FPS, Scene, Shot


@dataclass(frozen=True)
class ShotJob:
    scene: str  # scene id
    shot: str  # shot id
    index: int  # position in the film (storyboard order)
    seconds: float  # as written in the storyboard
    frames: int  # at RENDER_FPS
    audio_tokens: int
    speakers: tuple[str, ...]  # character ids, in order of first line
    continue_from: str | None  # upstream shot id: first frame = its last frame
    image: Path | None  # absolute path of a still giving the first frame
    seed: int  # the shot's seed, or the storyboard's default
    spec: Shot  # the shot as written (voices and image resolved)
    setting: str | None  # its scene's setting

    @property
    def render_seconds(self) -> float:
        return self.frames / RENDER_FPS


@dataclass(frozen=True)
class RenderPlan:
    storyboard: LoadedStoryboard
    jobs: tuple[ShotJob, ...]  # render order

    @property
    def film(self) -> list[ShotJob]:
        """The jobs in film (storyboard) order."""
        return sorted(self.jobs, key=lambda job: job.index)

    @property
    def seconds(self) -> float:
        """The shots' lengths as written."""
        return sum(job.seconds for job in self.jobs)

    @property
    def render_seconds(self) -> float:
        """What the shots render: each to whole 4k+1 frames at 24 fps."""
        return sum(job.render_seconds for job in self.jobs)

    @property
    def frames(self) -> int:
        return sum(job.frames for job in self.jobs)

    def job(self, shot_id: str) -> ShotJob:
        for job in self.jobs:
            if job.shot == shot_id:
                return job
        raise KeyError(shot_id)

    def as_dict(self) -> dict:
        """The plan as JSON-ready data (``plan --json``)."""
        return {
            "title": self.storyboard.title,
            "fps": RENDER_FPS,
            "film_fps": self.storyboard.storyboard.format.fps,
            "shots": [
                {"scene": j.scene, "shot": j.shot, "seconds": j.seconds, "render_seconds": j.render_seconds,
                 "frames": j.frames,
                 "audio_tokens": j.audio_tokens, "speakers": list(j.speakers),
                 "continue_from": j.continue_from, "image": str(j.image) if j.image else None, "seed": j.seed}
                for j in self.jobs
            ],
            "totals": {"shots": len(self.jobs), "seconds": self.seconds, "render_seconds": self.render_seconds,
                       "frames": self.frames},
            "warnings": [str(w) for w in self.storyboard.warnings],
        }

    def downstream(self, shot_id: str) -> list[str]:
        """Shots continued from ``shot_id``, directly or through others, in render order."""
        found = {shot_id}
        for job in self.jobs:  # render order: an upstream shot comes before its continuations
            if job.continue_from in found:
                found.add(job.shot)
        return [job.shot for job in self.jobs if job.shot in found - {shot_id}]


def _job(index: int, scene: Scene, shot: Shot, default_seed: int) -> ShotJob:
    frames = frames_for_seconds(shot.duration)
    return ShotJob(
        scene=scene.id, shot=shot.id, index=index, seconds=shot.duration, frames=frames,
        audio_tokens=audio_tokens(frames), speakers=tuple(shot.speakers()),
        continue_from=shot.continue_from, image=shot.image,
        seed=shot.seed if shot.seed is not None else default_seed, spec=shot, setting=scene.setting,
    )


def make_plan(loaded: LoadedStoryboard) -> RenderPlan:
    """The storyboard's shots as jobs, each continued shot after the one it continues from."""
    sb = loaded.storyboard
    jobs = {shot.id: _job(i, scene, shot, sb.defaults.seed) for i, (scene, shot) in enumerate(sb.shots())}
    ordered: list[ShotJob] = []
    done: set[str] = set()
    for job in jobs.values():
        chain: list[ShotJob] = []  # this job and its not yet planned upstream shots
        node: ShotJob | None = job
        while node is not None and node.shot not in done:  # the loader rejected cycles
            chain.append(node)
            node = jobs[node.continue_from] if node.continue_from else None
        for node in reversed(chain):
            ordered.append(node)
            done.add(node.shot)
    return RenderPlan(loaded, tuple(ordered))
