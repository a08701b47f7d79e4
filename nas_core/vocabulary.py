"""The system's vocabulary for the size of a network: one dataclass that the pool, the supernet, the
pipeline, YAML files and the command line all take unchanged.

A network is ``channels`` wide (C, the channels of its first stage) and has ``cells_per_stage`` cells in each
of its three stages (N). The two families of spaces read it in their papers' terms:

- NAS-Bench-201 (Dong & Yang 2020, §2.1): N cells per stage, stages joined by residual reduction blocks
  (``C=16, N=5`` is the benchmark's network);
- DARTS (Liu et al. 2019, §3.1): N normal cells per stage and a reduction cell between stages, 3N + 2 cells in
  all -- DARTS's 8-cell search network is N = 2, its 20-cell CIFAR-10 evaluation network N = 6, P-DARTS's
  5/11/17-cell stages are N = 1/3/5.

The low-level constructors keep the papers' own names (``NB201Network(C, N)``, ``DartsNetwork(C, layers)``,
``Supernet(C, N, layers)``); a space translates a :class:`NetworkSize` into them in one place,
:meth:`nas_core.spaces.base.SearchSpace.size_kwargs`. Named sizes are :data:`nas_core.presets.NETWORKS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: keys of the low-level constructors a stored size may still use (pool files and run records written
#: before this vocabulary): C, N and DARTS's total cell count ``layers``
_LEGACY_KEYS = {"C", "N", "layers"}


@dataclass(frozen=True)
class NetworkSize:
    """The width and depth of a network (see the module docstring for how each space reads it)."""

    #: C: channels of the first stage
    channels: int = 16
    #: N: cells per stage (NB201: N cells; DARTS: N normal cells, 3N + 2 cells in all)
    cells_per_stage: int = 5

    def __post_init__(self) -> None:
        for name in ("channels", "cells_per_stage"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"NetworkSize.{name} must be an integer >= 1, got {value!r}")

    @property
    def darts_cells(self) -> int:
        """The cell count of the DARTS network of this size: N normal cells per stage and two reduction cells."""
        return 3 * self.cells_per_stage + 2

    def to_dict(self) -> dict[str, int]:
        return {"channels": self.channels, "cells_per_stage": self.cells_per_stage}

    def __str__(self) -> str:
        return f"C={self.channels}, N={self.cells_per_stage}"

    @classmethod
    def parse(cls, value: NetworkSize | Mapping[str, Any] | str) -> NetworkSize:
        """A size from itself, a preset name (:data:`nas_core.presets.NETWORKS`) or a mapping: YAML's
        ``{channels: 16, cells_per_stage: 5}``, or the constructors' ``{C, N}`` / ``{C, layers}`` that older
        pool files and run records hold (``layers`` must then be a DARTS depth 3N + 2)."""
        if isinstance(value, NetworkSize):
            return value
        if isinstance(value, str):
            from nas_core.presets import NETWORKS

            return NETWORKS.get(value)
        if not isinstance(value, Mapping):
            raise TypeError(f"a network size is a NetworkSize, a preset name or a mapping, got {value!r}")
        keys = set(value)
        if keys <= {"channels", "cells_per_stage"}:
            return cls(**value)
        if not keys <= _LEGACY_KEYS or {"N", "layers"} <= keys:
            raise ValueError(
                f"a network size has the keys channels and cells_per_stage (or C with N or layers), got {sorted(keys)}"
            )
        channels = value.get("C", cls.channels)
        if "layers" not in value:
            return cls(channels, value.get("N", cls.cells_per_stage))
        layers = value["layers"]
        if not isinstance(layers, int) or layers < 5 or (layers - 2) % 3:
            raise ValueError(
                f"layers={layers!r} is not a DARTS depth of N normal cells per stage and two reduction cells "
                f"(3N + 2: 5, 8, 11, 14, 17, 20, ...); give cells_per_stage instead"
            )
        return cls(channels, (layers - 2) // 3)
