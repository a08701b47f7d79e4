"""ICDARTS's tournament-style dynamic search space (Herron 2023, §4.1, Algorithm 2, Fig. 4.1).

Tier T (the bottom) plays 2^(T-1) independent games: each gives every node of every cell type
``o_max`` ops drawn at random from the master set (Table 4.2) and runs a full ICDARTS search; the top
half of each node's ops by α survive. A game of tier t plays the union of the survivors of games
2r and 2r+1 of the tier below, searched again from the beginning; tier 1's single game is the final
search. The prose is followed where Algorithm 2's indices disagree with it (4, 2, 1 games for T = 3;
the notes' gap G14).

Choices the dissertation leaves open: op sets are per node (all incoming edges of a node share one),
separately for the normal and the reduction cell; an op's score at a node is its mean mixing weight
over the node's edges; a merged set that is smaller than ``o_max`` (the two games kept the same op)
is topped up with random unused ops of the master set, so every edge keeps ``o_max`` candidates
(``o_max`` even, so two halves make a whole). O_max itself is not given (default 8, the DARTS op
count). ``dynamic_search`` plays the games with :class:`~supernet.engine.diff_search.DiffSearch`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from nas_core.cells import steps_of
from nas_core.spaces.darts import CELL_TYPES, STEPS, edge_index

Node = tuple[str, int]  # (cell type, intermediate node 0..3, or 0..steps - 1 in a declared space)
OpSets = dict[Node, tuple[str, ...]]
Scores = dict[Node, dict[str, float]]
#: one game: op sets in, (per-node op scores, the search's result) out
Game = Callable[[OpSets, str], tuple[Scores, Any]]


@dataclass
class TournamentResult:
    op_sets: OpSets  # the final game's op sets
    result: Any  # the final game's search result
    games: list[dict[str, Any]] = field(default_factory=list)  # every game: tier, index, op sets, survivors


def random_op_sets(master: Sequence[str], o_max: int, rng: random.Random, steps: int = STEPS) -> OpSets:
    if o_max < 2 or o_max % 2 or o_max > len(master):
        raise ValueError(f"o_max must be even and in 2..{len(master)} (the master set's size), got {o_max}")
    return {(ct, node): tuple(rng.sample(list(master), o_max)) for ct in CELL_TYPES for node in range(steps)}


def survivors(op_sets: OpSets, scores: Scores) -> OpSets:
    """Each node's top 50% (rounded up) of its ops by score (ties: the op set's order)."""
    out = {}
    for key, ops in op_sets.items():
        ranked = sorted(ops, key=lambda op: (-scores[key][op], ops.index(op)))
        out[key] = tuple(op for op in ops if op in ranked[: math.ceil(len(ops) / 2)])
    return out


def merge(a: OpSets, b: OpSets, master: Sequence[str], o_max: int, rng: random.Random) -> OpSets:
    """The union of two games' survivors per node, topped up to ``o_max`` from the master set."""
    out = {}
    for key in a:
        ops = list(dict.fromkeys([*a[key], *b[key]]))
        unused = [op for op in master if op not in ops]
        ops += rng.sample(unused, max(0, min(o_max - len(ops), len(unused))))
        out[key] = tuple(ops)
    return out


def tournament(
    master: Sequence[str], game: Game, tiers: int = 3, o_max: int = 8, seed: int = 0, steps: int = STEPS
) -> TournamentResult:
    """Algorithm 2: ``game(op_sets, name)`` runs one ICDARTS search on the given per-node op sets (of
    cells with ``steps`` intermediate nodes)."""
    if tiers < 1:
        raise ValueError(f"tiers must be >= 1, got {tiers}")
    rng = random.Random(seed)
    log: list[dict[str, Any]] = []
    level: list[OpSets] = [random_op_sets(master, o_max, rng, steps) for _ in range(2 ** (tiers - 1))]
    for tier in range(tiers, 0, -1):
        kept: list[OpSets] = []
        for r, op_sets in enumerate(level):
            scores, result = game(op_sets, f"tier{tier}_game{r}")
            if tier == 1:
                log.append({"tier": 1, "game": 0, "op_sets": _jsonable(op_sets)})
                return TournamentResult(op_sets, result, log)
            kept.append(survivors(op_sets, scores))
            log.append({"tier": tier, "game": r, "op_sets": _jsonable(op_sets), "survivors": _jsonable(kept[-1])})
        level = [merge(kept[2 * r], kept[2 * r + 1], master, o_max, rng) for r in range(len(kept) // 2)]
    raise AssertionError("unreachable")


def node_scores(edge_ops: dict[str, list[tuple[str, ...]]], probabilities: dict[str, torch.Tensor]) -> Scores:
    """Per node, each op's mean mixing weight over the node's incoming edges."""
    scores: Scores = {}
    for ct in CELL_TYPES:
        p = probabilities[ct].detach().cpu()
        for node in range(steps_of(len(edge_ops[ct]))):
            rows = [edge_index(node, src) for src in range(node + 2)]
            ops = edge_ops[ct][rows[0]]
            scores[(ct, node)] = {op: float(p[rows, k].mean()) for k, op in enumerate(ops)}
    return scores


def edge_ops_of(op_sets: OpSets) -> dict[str, list[tuple[str, ...]]]:
    """Per-node op sets as the supernet's per-edge candidate lists."""
    steps = 1 + max(node for _, node in op_sets)
    return {ct: [op_sets[(ct, node)] for node in range(steps) for _ in range(node + 2)] for ct in CELL_TYPES}


def _jsonable(op_sets: OpSets) -> dict[str, list[str]]:
    return {f"{ct}:{node}": list(ops) for (ct, node), ops in op_sets.items()}


def dynamic_search(
    config: Any, tiers: int = 3, o_max: int = 8, run_dir: str | None = None, on_game: Callable | None = None
) -> TournamentResult:
    """Algorithm 2 with full searches of ``config`` (a ``DiffSearchConfig``; its space gives the master
    set, e.g. ``icdarts-dynamic``); each game resumes from ``run_dir/<game>/`` when interrupted."""
    from dataclasses import replace
    from pathlib import Path

    from nas_core.spaces import get_space
    from supernet.engine.diff_search import DiffSearch

    space = get_space(config.space)
    master = space.ops

    def game(op_sets: OpSets, name: str) -> tuple[Scores, Any]:
        edge_ops = edge_ops_of(op_sets)
        search = DiffSearch(replace(config, edge_ops=edge_ops), Path(run_dir) / name if run_dir else None)
        result = search.run()
        if on_game:
            on_game(name, search, result)
        return node_scores(edge_ops, search.method.probabilities()), result

    return tournament(master, game, tiers, o_max, config.seed, getattr(space, "steps", STEPS))
