"""Differentiable search methods, registered by name (``get_method("darts-2nd")``)."""

from supernet.methods import darts, dartsplus, drnas, rdarts, sdarts, spdarts  # noqa: F401  (registration)
from supernet.methods.base import Method, StepContext, get_method, method_names, register_method

__all__ = ["Method", "StepContext", "get_method", "method_names", "register_method"]
