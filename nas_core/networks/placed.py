"""An architecture of hierarchical ICDARTS version 2 (Herron 2023, ch. 6): four DARTS cell structures and
the type of the cell at each depth, with the network that places them (for retraining and export).

The search that finds one is :mod:`supernet.cdarts.hierarchical_v2`; this module is the architecture
alone, so that training code builds it without importing the supernet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nas_core.networks.darts import DartsCell, DartsNetwork, darts_layout, reduction_indices
from nas_core.spaces import DartsSpace, Genotype, get_space
from nas_core.spaces.darts import STEPS

N_TYPES = 4
CONCAT = tuple(range(2, STEPS + 2))


def template_placement(layers: int) -> list[int]:
    """The micro template: cell ``i`` has type ``i mod 4`` (the four types alternate)."""
    return [i % N_TYPES for i in range(layers)]


def type_genotype(edges: Sequence[tuple[str, int]]) -> Genotype:
    """One cell structure as a ``Genotype`` whose normal and reduce cells are the same (a cell at a
    downsampling position runs it with stride 2 on its input edges)."""
    edges = tuple((str(op), int(src)) for op, src in edges)
    return Genotype(edges, CONCAT, edges, CONCAT)


@dataclass(frozen=True)
class PlacedCells:
    """A version-2 architecture: ``types[t]`` is cell structure t, ``placement[i]`` the type of cell i."""

    types: tuple[Genotype, ...]
    placement: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.types) != N_TYPES:
            raise ValueError(f"need {N_TYPES} cell types, got {len(self.types)}")
        bad = [t for t in self.placement if not 0 <= t < N_TYPES]
        if bad:
            raise ValueError(f"placement entries must be cell types 0..{N_TYPES - 1}, got {bad}")

    def cells(self) -> list[list[list[str | int]]]:
        """The four cell structures as JSON-able edge lists ``[[op, input], ...]``."""
        return [[[op, src] for op, src in t.normal] for t in self.types]

    def __str__(self) -> str:
        return json.dumps({"types": self.cells(), "placement": list(self.placement)})

    @classmethod
    def parse(cls, text: str, space: str | DartsSpace = "darts") -> PlacedCells:
        """From ``str(placed)``; every cell is checked against ``space`` (ops, inputs, two per node)."""
        try:
            data = json.loads(text)
            types = [type_genotype(cell) for cell in data["types"]]
            placement = tuple(int(t) for t in data["placement"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"not a version-2 architecture {text[:80]!r}: expected JSON "
                '{"types": [four [[op, input], ...] cells], "placement": [type of each cell]}'
            ) from error
        space = get_space(space) if isinstance(space, str) else space
        return cls(tuple(space.validate(t) for t in types), placement)


def stretch_placement(placement: Sequence[int], layers: int) -> list[int]:
    """``placement`` (one type per cell of a shorter or longer template) for a ``layers``-cell network:
    the two downsampling cells keep their types and each stage between them is resampled evenly
    (e.g. a placement searched on 8 cells for the 20-cell retraining network)."""

    def segments(n: int) -> list[list[int]]:
        r1, r2 = reduction_indices(n)
        return [list(range(0, r1)), [r1], list(range(r1 + 1, r2)), [r2], list(range(r2 + 1, n))]

    if layers == len(placement):
        return list(placement)
    darts_layout(1, layers)  # the same check as the network's: at least 3 cells
    out: list[int] = []
    for old, new in zip(segments(len(placement)), segments(layers)):
        if new and not old:
            raise ValueError(f"cannot stretch a {len(placement)}-cell placement to {layers} cells: a stage is empty")
        out += [placement[old[k * len(old) // len(new)]] for k in range(len(new))]
    return out


def placed_network(
    arch: PlacedCells, *, C: int, layers: int, num_classes: int, in_channels: int, **options: Any
) -> DartsNetwork:
    """The DARTS network whose cell ``i`` is ``arch.types[placement[i]]`` (E_micro, E_macro and the
    retraining network; a placement of another length is stretched, ``stretch_placement``; ``options``
    as for ``DartsNetwork``, e.g. ``auxiliary``, ``drop_path_prob``)."""
    placement = stretch_placement(arch.placement, layers)
    if options.get("reduce_cells", "searched") != "searched":  # fixed modules take the downsampling cells' place
        placement = [t for i, t in enumerate(placement) if i not in reduction_indices(layers)]
    types = iter(placement)
    return DartsNetwork(
        C=C,
        layers=layers,
        num_classes=num_classes,
        in_channels=in_channels,
        cell_factory=lambda slot: DartsCell(arch.types[next(types)], slot),
        **options,
    )
