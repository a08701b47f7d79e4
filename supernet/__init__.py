"""Networks and how they are trained: operations, search spaces, child networks, data, training,
the weight-sharing supernet and the differentiable search methods.

The public API (docs/api.md)::

    from supernet import differentiable_search, retrain, export_model, method_names
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: public name -> the module that defines it (imported on first use: ``import nas_core.ops`` stays light)
_API = {
    "differentiable_search": "supernet.api",
    "search_config": "supernet.api",
    "DifferentiableRun": "supernet.api",
    "DiffSearchConfig": "supernet.engine.diff_search",
    "method_names": "supernet.methods",
    "register_method": "supernet.methods",
    "Method": "supernet.methods",
    "retrain": "nas_core.training.retrain",
    "RetrainResult": "nas_core.training.retrain",
    "export_model": "nas_core.training.retrain",
    "get_space": "nas_core.spaces",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'supernet' has no attribute {name!r}")
