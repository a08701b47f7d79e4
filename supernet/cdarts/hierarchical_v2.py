"""Hierarchical ICDARTS, version 2: four cell types and their placement per depth (Herron 2023, §6).

Micro phase (Fig. 6.3): instead of one normal and one reduction cell, four cell structures are
searched; they alternate through the DARTS template (cell ``i`` has type ``i mod 4``) in the search
network S_micro and in the evaluation network E_micro discretised from it. Macro phase (Fig. 6.4):
S_macro holds one cell of each type at every depth and feeds each depth the γ-weighted sum of the four
cells' outputs of the two previous depths; E_macro keeps, at each depth, only the type with the largest
γ. Both phases are ICDARTS's cyclic loop (``CyclicPhase``: Algorithm 1 / Algorithm 4, Eqs. 3.5 and
3.9-3.11 / 6.1-6.4); the macro phase warms E up for two epochs per iteration, as the dissertation says.

Choices the dissertation leaves open (its Figs. 6.3/6.4 are missing from the text, gap G18): the
template keeps DARTS's two downsampling positions, where the cell of that position's type runs with
stride 2 on the edges from its inputs (DARTS's reduction mechanics, so no separate reduction structure
is searched); γ is one weight per (depth, type), softmax-normalised per depth, initialised to zero with
ties broken towards the micro template's type (so the first E_macro is E_micro's placement); each
type's α follows DARTS (1e-3·N(0, 1) init, Adam 3e-4, β = (0.5, 0.999), weight decay 1e-3) and the
derivation is DARTS's (two strongest non-``none`` inputs per node); the stated macro learning rate
3e-3 is γ's Adam's; E's weights are banked by (depth, node, input, op) in the micro phase and by
(depth, type) in the macro phase; the networks have no auxiliary-head ensemble.

An architecture is a ``PlacedCells``: four cell structures and the type of each depth. Its string is
JSON (``{"types": [four [[op, input], ...] cells], "placement": [...]}``) and ``placed_network`` builds it
for retraining; ``nas diff --method icdarts --macro-version 2 --macro-epochs N`` runs both phases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from nas_core.networks.darts import DartsCell, DartsNetwork, darts_layout, make_stem
from nas_core.networks.placed import N_TYPES, PlacedCells, placed_network, template_placement, type_genotype
from nas_core.spaces import DartsSpace, Genotype, get_space
from nas_core.spaces.darts import STEPS
from nas_core.vocabulary import NetworkSize
from supernet.cdarts.hierarchical import CyclicPhase, relabel
from supernet.cdarts.method import bank_key, cell_op_names
from supernet.engine.diff_search import DiffSearchConfig
from supernet.engine.selection import darts_rule_cell
from supernet.engine.supernet import DartsSearchCell, edge_infos


class TypedSearchNetwork(nn.Module):
    """S_micro: the DARTS search network whose cell ``i`` mixes its edges with type ``i mod 4``'s weights."""

    def __init__(self, ops: Sequence[Sequence[str]], *, C: int, layers: int, num_classes: int, in_channels: int):
        super().__init__()
        self.net = DartsNetwork(
            C=C,
            layers=layers,
            num_classes=num_classes,
            in_channels=in_channels,
            cell_factory=lambda slot: DartsSearchCell(slot, ops),
        )

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        net = self.net
        s0 = s1 = net.stem(x)
        for i, cell in enumerate(net.cells):
            s0, s1 = s1, cell(s0, s1, weights[i % N_TYPES])
        return net.classifier(net.pool(s1).flatten(1))


class PlacementSearchNetwork(nn.Module):
    """S_macro: at every depth one cell of each type; depth ``i``'s output is the γ_i-weighted sum of
    its four cells, each of which reads the outputs of depths ``i - 2`` and ``i - 1``."""

    def __init__(self, types: Sequence[Genotype], *, C: int, layers: int, num_classes: int, in_channels: int):
        super().__init__()
        slots = darts_layout(C, layers)
        self.stem = make_stem("conv3x3", in_channels, 3 * C)
        self.levels = nn.ModuleList(nn.ModuleList(DartsCell(t, slot) for t in types) for slot in slots)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(slots[-1].C * STEPS, num_classes)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for level, w in zip(self.levels, weights):
            s0, s1 = s1, sum(w[t] * cell(s0, s1) for t, cell in enumerate(level))
        return self.classifier(self.pool(s1).flatten(1))


@dataclass
class PlacementResult:
    architecture: str  # str(PlacedCells)
    types: list[list[list[str | int]]]
    placement: list[int]
    history: list[dict[str, Any]] = field(default_factory=list)


class _PlacedCellsPhase(CyclicPhase):
    """A version-2 phase: its discretisation is a ``PlacedCells``."""

    def choice(self) -> PlacedCells:
        raise NotImplementedError

    def parse_choice(self, text: str) -> PlacedCells:
        return PlacedCells.parse(text, get_space(self.config.space))

    def run(self) -> PlacementResult:
        history = self.run_epochs()
        arch = self.choice()
        return PlacementResult(str(arch), arch.cells(), list(arch.placement), history)


class TypedCellSearch(_PlacedCellsPhase):
    """Version 2's micro phase: ICDARTS over four cell types alternating in the template."""

    def __init__(self, config: DiffSearchConfig, eval_network: NetworkSize | None = None, **options: Any):
        super().__init__(config, **options)
        space = get_space(config.space)
        #: E_micro's size; default S's (ICDARTS's own E is DARTS's evaluation network: pass NETWORKS["darts-eval"])
        self.eval_size = space.size_kwargs(eval_network) if eval_network else config.size_kwargs()
        if not isinstance(space, DartsSpace) or space.steps != STEPS:
            raise ValueError(
                f"hierarchical version 2 needs a DARTS-family space with {STEPS} intermediate nodes (its cell "
                f"types share DARTS's cell), got {config.space!r}"
            )
        edges = [e for e in edge_infos(space) if e.cell_type == "normal"]  # the supernet's normal-cell edges
        self.node_inputs = [[(e.src, e.index, e.ops) for e in edges if e.dst == node + 2] for node in range(STEPS)]
        ops = [e.ops for e in edges]
        self.S = TypedSearchNetwork(ops, **self.network_size()).to(self.device)
        K = len(ops[0])
        self.arch = nn.ParameterList(
            nn.Parameter(1e-3 * torch.randn(len(ops), K, device=self.device)) for _ in range(N_TYPES)
        )
        self._optimisers(config.a_lr, config.a_weight_decay)

    def choice(self) -> PlacedCells:
        rows = [w.detach().cpu() for w in self.weights()]
        types = tuple(type_genotype(darts_rule_cell(r, self.node_inputs)) for r in rows)
        return PlacedCells(types, tuple(template_placement(self.eval_size["layers"])))  # E_micro's template

    def build_eval(self, choice: PlacedCells) -> nn.Module:
        return placed_network(choice, **{**self.network_size(), **self.eval_size})

    def bank_key(self, key: str, choice: PlacedCells) -> str:
        parts = key.split(".")
        if parts[0] != "cells":
            return key
        i = int(parts[1])
        cell = choice.types[choice.placement[i]]
        return bank_key(key, cell_op_names(i, cell.normal, cell.node_of("normal")))  # ops by (node, input, op)

    def describe(self) -> dict[str, Any]:
        return {"types": self.choice().cells()}


class PlacementSearch(_PlacedCellsPhase):
    """Version 2's macro phase over the four cell types of ``types`` (Algorithm 4)."""

    eval_warmup_epochs = 2  # "pre-trained the evaluation network for two epochs in each iteration"

    def __init__(
        self,
        types: Sequence[Genotype] | PlacedCells | str,
        config: DiffSearchConfig,
        gamma_lr: float = 3e-3,
        **options: Any,
    ):
        super().__init__(config, **options)
        if isinstance(types, str):
            types = PlacedCells.parse(types, config.space)
        self.types = tuple(types.types if isinstance(types, PlacedCells) else types)
        if len(self.types) != N_TYPES:
            raise ValueError(f"need {N_TYPES} cell types, got {len(self.types)}")
        self.S = PlacementSearchNetwork(self.types, **self.network_size()).to(self.device)
        self.gamma = self.arch = nn.ParameterList(
            nn.Parameter(torch.zeros(N_TYPES, device=self.device)) for _ in range(config.size_kwargs()["layers"])
        )
        self._optimisers(gamma_lr)

    def placement(self) -> list[int]:
        """E_macro: the largest-γ type at each depth (ties: the micro template's type, then the lower)."""
        template = template_placement(self.config.size_kwargs()["layers"])
        return [
            max(range(N_TYPES), key=lambda t: (float(g[t].detach()), t == template[i], -t))
            for i, g in enumerate(self.gamma)
        ]

    def choice(self) -> PlacedCells:
        return PlacedCells(self.types, tuple(self.placement()))

    def build_eval(self, choice: PlacedCells) -> nn.Module:
        return placed_network(choice, **self.network_size())

    def bank_key(self, key: str, choice: PlacedCells) -> str:
        return relabel(key, "cells", lambda i: f"type{choice.placement[i]}")  # depth i's cell, by its type

    def describe(self) -> dict[str, Any]:
        return {"placement": self.placement(), "gamma": self.arch_values()}
