"""The one incumbent rule of every search, its trajectory, and the test report made after a search.

**Incumbent rule** (RANK-NOSH, its ablations, random, REA, TPE, TPE+Hyperband, the hybrid): the
architecture with the best observed *validation* accuracy at the highest epoch budget any
architecture has been observed at. Between budgets, a higher budget always wins: a 200-epoch
observation beats every 12-epoch one whatever the values (the two are different schedules, not
comparable numbers). Within a budget, equal values go to the architecture observed first.

A search records its incumbent after every charge as a trajectory point ``[cost, arch, valid,
epoch]``. :func:`report` turns the finished trajectory into test accuracies with a
:class:`~predictor_nas.evaluators.TestReporter`: the search itself never holds one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)


def incumbent_key(observations: Mapping[int, float]) -> tuple[int, float]:
    """(highest budget observed, the validation accuracy there): larger is better."""
    top = max(observations)
    return top, observations[top]


def best(observed: Mapping[K, Mapping[int, float]], n: int = 1) -> list[K]:
    """The ``n`` best keys by the incumbent rule; ``observed`` in order of first observation."""
    order = {k: i for i, k in enumerate(observed)}
    keys = [k for k, o in observed.items() if o]
    return sorted(keys, key=lambda k: (*(-x for x in incumbent_key(observed[k])), order[k]))[:n]


def trajectory_point(cost: int, arch: str, observations: Mapping[int, float]) -> list[Any]:
    epoch, valid = incumbent_key(observations)
    return [int(cost), arch, float(valid), int(epoch)]


def validation_curve(trajectory: list[list[Any]]) -> list[tuple[int, float]]:
    """(cost, incumbent's observed validation accuracy) per trajectory point."""
    return [(int(p[0]), float(p[2])) for p in trajectory]


def report(result: Any, reporter: Any, curve: bool = True) -> Any:
    """Fill ``result.test_accuracy`` (and ``result.test_curve``: cost, test accuracy of the incumbent
    at that cost) from ``reporter``, once the search has returned. Returns ``result``."""
    tested: dict[str, float] = {}  # one test read per architecture

    def test_of(arch: str) -> float:
        if arch not in tested:
            tested[arch] = reporter.report(arch)
        return tested[arch]

    result.test_accuracy = test_of(result.best_arch) if result.best_arch else None
    if curve:
        result.test_curve = [(int(p[0]), test_of(p[1])) for p in result.trajectory]
    return result
