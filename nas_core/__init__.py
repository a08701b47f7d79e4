"""The foundation every part of the system builds on: the name registry, search spaces and their
operations, cells and child networks, data sets and the training loop (with retraining and export).

Nothing here searches. The differentiable search (:mod:`supernet`), RANK-NOSH and the other strategies
(:mod:`predictor_nas`), the candidate pool (:mod:`pools`) and the command line (:mod:`nas_cli`) all import
from here, and this package imports none of them (``tests/test_layers.py`` checks it).
"""

from nas_core.presets import NETWORKS, PROTOCOLS
from nas_core.vocabulary import NetworkSize

#: the ways to bring your own data, space and operations, imported on first use (they import torch)
_LAZY = {
    "register_dataset": "nas_core.data",
    "declare_space": "nas_core.spaces",
    "register_op": "nas_core.ops",
}

__all__ = ["NETWORKS", "PROTOCOLS", "NetworkSize", *_LAZY]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nas_core' has no attribute {name!r}")
