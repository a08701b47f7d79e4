"""Architectures as ``torch_geometric.data.Data`` graphs for the ranking predictor.

Nodes are operations (plus ``input``/``output`` markers), one-hot encoded over the space's
vocabulary; edges follow the data flow. NB201 graphs come from the canonical computation, so
isomorphic cells have identical encodings; DARTS genotypes put their normal and reduction cells in
one graph with a per-node ``cell`` index (two components). Batches use PyG's ``Batch``/``DataLoader``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from nas_core.spaces import SearchSpace

if TYPE_CHECKING:  # torch-geometric is imported where graphs are built: ~2 s that most commands never need
    from torch_geometric.data import Batch, Data

MARKERS = ("input", "input_0", "input_1", "output")


def vocabulary(space: SearchSpace) -> tuple[str, ...]:
    """Node types of ``space``: the markers then its operations."""
    return MARKERS + tuple(space.ops)


class GraphEncoder:
    """Encodes architectures of one space, caching by architecture string."""

    def __init__(self, space: SearchSpace, bidirectional: bool = True):
        self.space = space
        self.vocab = vocabulary(space)
        self._index = {name: i for i, name in enumerate(self.vocab)}
        self.bidirectional = bidirectional
        self._cache: dict[str, Data] = {}

    @property
    def num_node_types(self) -> int:
        return len(self.vocab)

    def encode(self, arch: Any) -> Data:
        key = arch if isinstance(arch, str) else self.space.to_string(arch)
        data = self._cache.get(key)
        if data is None:
            data = self._encode(key)
            self._cache[key] = data
        return data

    def _encode(self, arch: str) -> Data:
        from torch_geometric.data import Data

        graph = self.space.to_graph(arch)
        try:
            types = torch.tensor([self._index[op] for op in graph.node_ops])
        except KeyError as exc:
            raise ValueError(
                f"operation {exc.args[0]!r} is not in the vocabulary of space {self.space.name!r}"
            ) from None
        edges = torch.tensor(graph.edges, dtype=torch.long).reshape(-1, 2).t()
        if self.bidirectional and edges.numel():
            edges = torch.cat([edges, edges.flip(0)], dim=1)
        x = torch.nn.functional.one_hot(types, len(self.vocab)).float()
        return Data(
            x=x,
            edge_index=edges.contiguous(),
            node_type=types,
            cell=torch.tensor(graph.cell_of_node),
            num_nodes=len(types),
        )

    def batch(self, archs: Sequence[Any]) -> Batch:
        from torch_geometric.data import Batch

        return Batch.from_data_list([self.encode(a) for a in archs])
