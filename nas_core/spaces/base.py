"""The contract every search space implements.

An architecture is a small immutable value (a frozen dataclass / named tuple). At every boundary
(database, CLI, JSON) it travels as its canonical *string*, in the published format of its space.
"""

from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from torch import nn

from nas_core.vocabulary import NetworkSize

Arch = TypeVar("Arch")


class ArchitectureError(ValueError):
    """A malformed or invalid architecture (bad string, unknown op, wrong shape)."""


@dataclass(frozen=True)
class CellGraph:
    """An architecture as a DAG whose nodes are operations (for the predictor's GNN).

    ``node_ops[i]`` is the operation name of node ``i`` (``"input"``, ``"output"`` and, for
    two-cell spaces, ``"input_1"`` / ``"add"`` style markers are ops too); ``edges`` are
    ``(src, dst)`` pairs. ``cell_of_node`` says which cell a node belongs to (0 = normal, 1 =
    reduce); single-cell spaces leave it all zeros.
    """

    node_ops: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    cell_of_node: tuple[int, ...]


class SearchSpace(ABC, Generic[Arch]):
    """A space of architectures: sample, mutate, enumerate, (de)serialise, hash, build, encode."""

    name: str
    ops: tuple[str, ...]
    #: the cell family, which decides the network skeleton and the supernet: ``"nb201"`` (an op on every
    #: edge of a cell DAG, NAS-Bench-201's skeleton) or ``"darts"`` (normal and reduction cells whose nodes
    #: each pick two inputs, the DARTS skeleton)
    family: str

    # -- sampling and neighbourhood -------------------------------------------------------
    @abstractmethod
    def sample(self, rng: random.Random) -> Arch:
        """Uniformly sample an architecture."""

    @abstractmethod
    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """Change one edge (its op, or for DARTS possibly its input); never returns ``arch``."""

    def enumerate(self) -> Iterator[Arch]:
        raise NotImplementedError(f"space {self.name!r} has {self.size():.3g} architectures; it cannot be enumerated")

    @abstractmethod
    def size(self) -> int:
        """Number of architectures (possibly huge)."""

    # -- serialisation ---------------------------------------------------------------------
    @abstractmethod
    def to_string(self, arch: Arch) -> str:
        """The published text format of ``arch``."""

    @abstractmethod
    def from_string(self, text: str) -> Arch:
        """Parse and validate; raises :class:`ArchitectureError` naming what is wrong."""

    def parse(self, arch: Arch | str) -> Arch:
        """Accept an architecture or its string."""
        return self.from_string(arch) if isinstance(arch, str) else self.validate(arch)

    @abstractmethod
    def validate(self, arch: Arch) -> Arch:
        """Check ``arch`` belongs to this space; returns it or raises :class:`ArchitectureError`."""

    @abstractmethod
    def canonical_form(self, arch: Arch) -> str:
        """A string equal for architectures that compute the same function (isomorphism)."""

    def canonical_hash(self, arch: Arch | str) -> str:
        """Short stable hash of :meth:`canonical_form`, used to de-duplicate pool candidates."""
        form = self.canonical_form(self.parse(arch))
        return hashlib.sha1(f"{self.name}:{form}".encode()).hexdigest()[:16]

    # -- networks and graphs ---------------------------------------------------------------
    @abstractmethod
    def size_kwargs(self, size: NetworkSize) -> dict[str, int]:
        """The keyword arguments of :meth:`build_network` (and the supernet) that give a network of ``size``:
        the one place a :class:`~nas_core.vocabulary.NetworkSize` meets the papers' own names."""

    @abstractmethod
    def build_network(self, arch: Arch | str, *, num_classes: int, in_channels: int = 3, **config: Any) -> nn.Module:
        """The discrete child network of ``arch``."""

    @abstractmethod
    def to_graph(self, arch: Arch | str) -> CellGraph:
        """Operation-as-node DAG of ``arch`` (for :mod:`predictor_nas.encoding`)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "ops": list(self.ops), "size": self.size()}
