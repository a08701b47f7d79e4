"""A limit on what a candidate may cost, and the accuracy-cost front of what a search trained.

RANK-NOSH under a :class:`CostLimit` never adds a candidate over the limit to its pool, so none trains; the
ranker learns from the ones that did, as always. The costs are the data-free zero-cost "proxies" ``params``
(millions) and ``flops`` (millions, one image), ``latency_ms`` (one image, median on the search's device;
:func:`nas_core.training.retrain.latency_ms`) of the pool's own network size and input shape, or any
function ``cost(architecture) -> float`` (e.g. a latency table of the user's device,
:func:`op_table_cost`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nas_core.costs import COSTS


@dataclass(frozen=True)
class CostLimit:
    """``cost(architecture) <= limit``; ``cost``: ``params`` | ``flops`` | ``latency_ms`` (:data:`COSTS`) or a
    function of the architecture (its string or object), named by ``name``."""

    cost: str | Callable[[Any], float]
    limit: float
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.cost, str) and self.cost not in COSTS:
            raise ValueError(f"unknown cost {self.cost!r}; expected one of {sorted(COSTS)} or a function")
        if not isinstance(self.limit, int | float) or not self.limit > 0:
            raise ValueError(f"a cost limit must be a positive number, got {self.limit!r}")

    @property
    def label(self) -> str:
        return self.name or (self.cost if isinstance(self.cost, str) else getattr(self.cost, "__name__", "cost"))

    def to_dict(self) -> dict[str, Any]:
        return {"cost": self.label, "limit": self.limit, "unit": COSTS.get(self.label, "")}


def op_table_cost(space: Any, table: Mapping[str, float]) -> Callable[[Any], float]:
    """A cost that sums ``table[op]`` over an architecture's ops (a cell's edges, a genotype's chosen inputs):
    a latency table measured by the user on their target device. Ops missing from the table cost 0 only
    when they are ``none``; others raise, naming them."""

    def cost(arch: Any) -> float:
        arch = space.parse(arch)
        ops = list(arch.ops) if hasattr(arch, "ops") else [op for op, _ in (*arch.normal, *arch.reduce)]
        missing = sorted({op for op in ops if op not in table and op != "none"})
        if missing:
            raise KeyError(f"the cost table has no entry for op(s) {missing}; it has {sorted(table)}")
        return float(sum(table.get(op, 0.0) for op in ops))

    cost.__name__ = "op_table"
    return cost


class CostOf:
    """The cost of architectures under one limit, computed once per architecture string."""

    def __init__(self, limit: CostLimit, scorer_for: Callable[[str], Any] | None = None):
        self.limit = limit
        self._scorer = scorer_for(limit.cost) if isinstance(limit.cost, str) and scorer_for else None
        if isinstance(limit.cost, str) and self._scorer is None:
            raise ValueError(f"cost {limit.cost!r} needs the pool's networks: a training study")
        self._cache: dict[str, float] = {}

    def __call__(self, arch: Any, key: str) -> float:
        if key not in self._cache:
            if self._scorer is not None:
                self._cache[key] = float(self._scorer([key])[0][self.limit.label])
            else:
                self._cache[key] = float(self.limit.cost(arch))  # type: ignore[operator]
        return self._cache[key]

    def allows(self, arch: Any, key: str) -> bool:
        return self(arch, key) <= self.limit.limit


class LimitedSpace:
    """``space`` whose :meth:`sample` and :meth:`mutate` draw again until ``allows(arch, key)`` (rejection
    sampling: a baseline's own proposal distribution restricted to the cells under a limit); everything
    else is ``space``'s."""

    def __init__(self, space: Any, allows: Callable[[Any, str], bool], tries: int = 1000):
        self.space, self.allows, self.tries = space, allows, tries

    def __getattr__(self, name: str) -> Any:
        return getattr(self.space, name)

    def _draw(self, make: Callable[[], Any], what: str) -> Any:
        for _ in range(self.tries):
            arch = make()
            if self.allows(arch, self.space.to_string(arch)):
                return arch
        raise ValueError(f"no architecture under the limit in {self.tries} {what}s of space {self.space.name!r}")

    def sample(self, rng: Any) -> Any:
        return self._draw(lambda: self.space.sample(rng), "random draw")

    def mutate(self, arch: Any, rng: Any) -> Any:
        return self._draw(lambda: self.space.mutate(arch, rng), "mutation")


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points ``(cost, accuracy)`` no other point beats on both (lower cost, higher accuracy)
    with one of them strictly, cheapest first."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def write_front(rows: list[dict[str, Any]], limit: CostLimit | None, label: str, out: Path | None) -> dict[str, Any]:
    """The front's data (every trained candidate: cost, validation accuracy at its highest budget, on the front
    or not), written as ``front.json`` and ``front.png`` in ``out`` when given; the front is taken among the
    candidates trained to the top budget reached, so that accuracies compare like with like."""
    top = max((r["epochs"] for r in rows), default=0)
    finished = [r for r in rows if r["epochs"] == top]
    for i in pareto_front([(r["cost"], r["valid_acc"]) for r in finished]):
        finished[i]["front"] = True
    data = {
        "cost": label,
        "unit": COSTS.get(label, ""),
        "limit": limit.limit if limit else None,
        "top_epochs": top,
        "candidates": sorted(rows, key=lambda r: r["cost"]),
    }
    if out is not None:
        (out / "front.json").write_text(json.dumps(data, indent=2))
        _plot_front(data, out / "front.png")
    return data


def _plot_front(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = data["candidates"]
    fig, ax = plt.subplots(figsize=(6, 4))
    top = [r for r in rows if r["epochs"] == data["top_epochs"]]
    others = [r for r in rows if r["epochs"] != data["top_epochs"]]
    if others:
        ax.scatter([r["cost"] for r in others], [r["valid_acc"] for r in others], s=12, c="0.75", label="lower budgets")
    ax.scatter([r["cost"] for r in top], [r["valid_acc"] for r in top], s=18, label=f"{data['top_epochs']} epochs")
    front = [r for r in top if r.get("front")]
    ax.step([r["cost"] for r in front], [r["valid_acc"] for r in front], where="post", c="C3", label="front")
    if data["limit"] is not None:
        ax.axvline(data["limit"], ls="--", c="k", lw=1, label="limit")
    ax.set_xlabel(f"{data['cost']} ({data['unit']})" if data["unit"] else data["cost"])
    ax.set_ylabel("validation accuracy (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["COSTS", "CostLimit", "CostOf", "LimitedSpace", "op_table_cost", "pareto_front", "write_front"]
