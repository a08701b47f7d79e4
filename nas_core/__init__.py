"""The foundation every part of the system builds on: the name registry, search spaces and their
operations, cells and child networks, data sets and the training loop (with retraining and export).

Nothing here searches. The differentiable search (:mod:`supernet`), RANK-NOSH and the other strategies
(:mod:`predictor_nas`), the candidate pool (:mod:`pools`) and the command line (:mod:`nas_cli`) all import
from here, and this package imports none of them (``tests/test_layers.py`` checks it).
"""

from nas_core.presets import NETWORKS, PROTOCOLS
from nas_core.vocabulary import NetworkSize

__all__ = ["NETWORKS", "PROTOCOLS", "NetworkSize"]
