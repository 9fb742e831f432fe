"""Ordered regex rename chains for checkpoint keys (original release names <-> library names)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class KeyMap:
    """Applies every matching ``(pattern, replacement)`` rule to a key, in order (a ``re.sub`` chain).

    ``select`` (a regex) limits which keys take part; keys it does not match are dropped by
    :meth:`apply`.
    """

    rules: tuple[tuple[str, str], ...]
    select: str | None = None

    def rename(self, key: str) -> str:
        for pattern, replacement in self.rules:
            key = re.sub(pattern, replacement, key)
        return key

    def selects(self, key: str) -> bool:
        return self.select is None or re.search(self.select, key) is not None

    def apply(self, state: Mapping[str, V]) -> dict[str, V]:
        return {self.rename(k): v for k, v in state.items() if self.selects(k)}
