"""Discrete child networks: the NAS-Bench-201 skeleton and the DARTS search/evaluation networks."""

from nas_core.networks.darts import DartsNetwork, darts_layout
from nas_core.networks.nb201 import NB201Network, nb201_layout

__all__ = ["DartsNetwork", "NB201Network", "darts_layout", "nb201_layout"]
