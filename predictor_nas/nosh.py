"""Non-uniform successive halving (NOSH), RANK-NOSH (Wang et al., ICCV 2021), as pure scheduling logic.

A pyramid of levels: every candidate at level ``i >= 1`` is trained to epoch budget ``e(i)``; level 0
holds candidates scored only by zero-cost proxies (budget 0, no training). In each update:

1. the ranker's top-K candidates enter level 1 (from level 0 / fresh samples) and are trained to e(1);
2. the top ``ceil(r * n)`` members of level 1 -- ``n`` being how many entered level 1 in this update --
   move to level 2 (their training is *resumed* to e(2)), the top ``ceil(r * n2)`` of level 2 move to
   level 3, and so on (the paper's Fig. 2: "move Top-rK architectures from level-1 to level-2");
3. nothing is discarded: a candidate left behind is paused, and a later update can still promote
   it when it ranks among the top members of its level.

The scores used for promotion are the observed validation accuracies at the level's budget, so
members of a level are always compared at the same training length. This module holds no torch
and does no I/O: the search loop (:mod:`predictor_nas.search`) trains and observes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class NoshConfig:
    """``budgets[i-1]`` is e(i), the epoch budget of level ``i`` (strictly increasing)."""

    budgets: tuple[int, ...] = (12, 200)
    ratio: float = 0.1
    k: int = 10
    initial: int = 30

    def __post_init__(self) -> None:
        b = self.budgets
        if not b or any(x <= 0 for x in b) or any(x >= y for x, y in itertools.pairwise(b)):
            raise ValueError(f"budgets must be positive and strictly increasing, got {b!r}")
        if not 0.0 < self.ratio <= 1.0:
            raise ValueError(f"ratio r must be in (0, 1], got {self.ratio!r}")
        if self.k < 1 or self.initial < 1:
            raise ValueError(f"k and initial must be >= 1, got k={self.k}, initial={self.initial}")

    @property
    def levels(self) -> int:
        return len(self.budgets)

    def budget(self, level: int) -> int:
        """e(level); level 0 (proxy level) has budget 0."""
        if not 0 <= level <= self.levels:
            raise ValueError(f"level must be in 0..{self.levels}, got {level}")
        return 0 if level == 0 else self.budgets[level - 1]


def promotion_count(intake: int, ratio: float) -> int:
    """``ceil(r * n)``, robust to float noise (``ceil(0.1 * 30)`` is 3, not 4)."""
    if intake <= 0:
        return 0
    return max(1, math.ceil(round(ratio * intake, 9)))


def select_top(scores: Mapping[int, float], count: int) -> list[int]:
    """The ``count`` ids with the highest scores; ties go to the older (smaller) id."""
    return sorted(scores, key=lambda i: (-scores[i], i))[:count]


class Pyramid:
    """Which level each candidate is at. Candidates only ever move up; none is ever removed."""

    def __init__(self, config: NoshConfig, levels: Mapping[int, int] | None = None):
        self.config = config
        self.level: dict[int, int] = {}
        for cid, lvl in (levels or {}).items():
            self._check_level(lvl)
            self.level[cid] = lvl

    def _check_level(self, level: int) -> None:
        if not 0 <= level <= self.config.levels:
            raise ValueError(f"level must be in 0..{self.config.levels}, got {level}")

    def add(self, ids: Iterable[int], level: int) -> None:
        """New candidates at ``level`` (0 = proxy level, 1 = first trained level)."""
        self._check_level(level)
        for cid in ids:
            if cid in self.level:
                raise ValueError(f"candidate {cid} is already in the pyramid (level {self.level[cid]})")
            self.level[cid] = level

    def members(self, level: int) -> list[int]:
        """Candidates currently at exactly ``level`` (for level >= 1: trained to e(level), paused there)."""
        return sorted(c for c, lvl in self.level.items() if lvl == level)

    def sizes(self) -> dict[int, int]:
        return {lvl: len(self.members(lvl)) for lvl in range(self.config.levels + 1)}

    def move(self, ids: Sequence[int], to_level: int) -> None:
        self._check_level(to_level)
        for cid in ids:
            if self.level[cid] >= to_level:
                raise ValueError(
                    f"candidate {cid} is at level {self.level[cid]}; it can only move up, not to {to_level}"
                )
            self.level[cid] = to_level

    def promote(self, level: int, scores: Mapping[int, float], intake: int) -> list[int]:
        """Move the top ``ceil(r * intake)`` members of ``level`` (by their score there) to ``level + 1``.

        ``scores`` must hold every member's observed value at e(level). Returns the promoted ids.
        """
        if not 1 <= level < self.config.levels:
            raise ValueError(f"promotion happens from levels 1..{self.config.levels - 1}, not {level}")
        members = self.members(level)
        missing = [c for c in members if c not in scores]
        if missing:
            raise ValueError(f"level {level} members {missing} have no score at epoch {self.config.budget(level)}")
        chosen = select_top({c: scores[c] for c in members}, promotion_count(intake, self.config.ratio))
        self.move(chosen, level + 1)
        return chosen

    def admit(self, scores: Mapping[int, float], count: int) -> list[int]:
        """Move the ``count`` best-scored level-0 candidates (ranker scores) to level 1."""
        chosen = select_top({c: scores[c] for c in self.members(0) if c in scores}, count)
        self.move(chosen, 1)
        return chosen

    def cascade_intakes(self, intake: int) -> list[int]:
        """How many candidates enter levels 1..L in an update that brings ``intake`` to level 1
        (when every level has enough members)."""
        out = [intake]
        for _ in range(self.config.levels - 1):
            out.append(promotion_count(out[-1], self.config.ratio))
        return out
