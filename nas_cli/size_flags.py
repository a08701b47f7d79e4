"""The network-size flags every command shares: ``--network PRESET``, ``--channels C``, ``--cells-per-stage N``.

They mean the same on every command and every space (:class:`nas_core.vocabulary.NetworkSize`): N cells per
stage, which a DARTS network holds as 3N + 2 cells (N normal cells per stage and two reduction cells).
"""

from __future__ import annotations

import argparse

from nas_core.presets import NETWORKS
from nas_core.vocabulary import NetworkSize


def add_size_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, what: str, prefix: str = "") -> None:
    """``--{prefix}network`` / ``--{prefix}channels`` / ``--{prefix}cells-per-stage`` for the network ``what``
    names (``"the candidates"``); unset flags keep the command's default size."""
    parser.add_argument(
        f"--{prefix}network",
        choices=NETWORKS.names(),
        default=None,
        help=f"a named size (C and N) for {what}",
    )
    parser.add_argument(f"--{prefix}channels", type=int, default=None, help=f"C: first-stage channels of {what}")
    parser.add_argument(
        f"--{prefix}cells-per-stage",
        type=int,
        default=None,
        help=f"N: cells per stage of {what} (a DARTS network has 3N + 2 cells)",
    )


def size_from_args(args: argparse.Namespace, default: NetworkSize, prefix: str = "") -> NetworkSize:
    """``default`` -- the size the command uses when no flag is given -- or the ``--network`` preset, with the
    ``--channels`` / ``--cells-per-stage`` given applied (a flag left out keeps that part of the base)."""
    key = prefix.replace("-", "_")
    preset = getattr(args, f"{key}network")
    channels, cells = getattr(args, f"{key}channels"), getattr(args, f"{key}cells_per_stage")
    base = NETWORKS.get(preset) if preset else default
    return NetworkSize(
        base.channels if channels is None else channels, base.cells_per_stage if cells is None else cells
    )
