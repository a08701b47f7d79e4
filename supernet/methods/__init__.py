"""Differentiable search methods, registered by name (``get_method("darts-2nd")``)."""

from supernet.cdarts import method as cdarts  # noqa: F401  (registration: CDARTS / ICDARTS)
from supernet.methods import (  # noqa: F401  (registration)
    allegronas,
    darts,
    dartsplus,
    drnas,
    fairdarts,
    gaea,
    gdas,
    pcdarts,
    pdarts,
    rdarts,
    sdarts,
    sgas,
    snas,
    spdarts,
)
from supernet.methods.base import Method, SearchData, StepContext, get_method, method_names, register_method

__all__ = ["Method", "SearchData", "StepContext", "get_method", "method_names", "register_method"]
