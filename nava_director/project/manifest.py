"""manifest.json: every shot's key, takes, pick, lock, the checks' choice and chosen take; the caption writer.

The takes on disk are the truth; the manifest's take lists mirror them (refreshed on every
save), and it holds what only the user decides (picks and locks).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class TakeEntry(BaseModel):
    n: int
    key: str
    seed: int
    files: dict[str, str]  # role -> path relative to the project folder
    timings: dict[str, float] = Field(default_factory=dict)


class ShotEntry(BaseModel):
    key: str | None = None  # the shot's key at the last run
    takes: list[TakeEntry] = Field(default_factory=list)
    chosen: int | None = None  # the take the film uses
    picked: int | None = None  # chosen by `pick`
    locked: bool = False  # `lock`: keep `chosen` whatever the inputs
    by_checks: int | None = None  # chosen by the checks (--retake): used while its key is current; a pick overrides


class Manifest(BaseModel):
    version: int = 1
    writer: str | None = None  # the caption writer the takes were made with
    caption_model: str | None = None  # and its model (an LLM writer's)
    size: tuple[int, int] | None = None  # the size the last render ran at (`takes` assumes it)
    steps: int | None = None  # the --steps it ran with (None: the storyboard's)
    dit: str | None = None  # the nava engine's DiT file (bf16 | fp8), fixed at the first render (`--dit auto`)
    shots: dict[str, ShotEntry] = Field(default_factory=dict)

    def shot(self, shot_id: str) -> ShotEntry:
        return self.shots.setdefault(shot_id, ShotEntry())

    def unlocked_with_takes(self, shot_ids: list[str]) -> list[str]:
        """Those of ``shot_ids`` (in their order) that have takes and are not locked."""
        return [s for s in shot_ids if (entry := self.shots.get(s)) and entry.takes and not entry.locked]
