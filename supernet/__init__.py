"""Networks and how they are trained: operations, search spaces, child networks, data, training,
the weight-sharing supernet and the differentiable search methods.

The public API (docs/api.md)::

    from supernet import differentiable_search, retrain, export_model, method_names
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: public name -> the module that defines it (imported on first use: ``import supernet.ops`` stays light)
_API = {
    "differentiable_search": "supernet.api",
    "search_config": "supernet.api",
    "DifferentiableRun": "supernet.api",
    "DiffSearchConfig": "supernet.diff_search",
    "method_names": "supernet.methods",
    "register_method": "supernet.methods",
    "Method": "supernet.methods",
    "retrain": "supernet.training.retrain",
    "RetrainResult": "supernet.training.retrain",
    "export_model": "supernet.training.retrain",
    "get_space": "supernet.spaces",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'supernet' has no attribute {name!r}")
