"""Search over discrete candidates: graph encodings, the ranking predictor, zero-cost proxies,
non-uniform successive halving, evaluators, the RANK-NOSH loop and baselines.

The public API (docs/api.md)::

    from predictor_nas import Study, search_preset, CandidateTraining, run_hybrid, load_hybrid_config
"""

from __future__ import annotations

import warnings
from importlib import import_module
from typing import Any

# torch-geometric (imported lazily by the encodings and the ranker) still scripts helpers with the deprecated
# torch.jit.script; a warning per import that our users cannot act on
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)

#: public name -> the module that defines it (imported on first use: ``import predictor_nas`` stays light)
_API = {
    "Study": "predictor_nas.study",
    "CandidateTraining": "predictor_nas.study",
    "search_preset": "predictor_nas.study",
    "SEARCH_PRESETS": "predictor_nas.study",
    "ablation": "predictor_nas.study",
    "RankNoshConfig": "predictor_nas.search",
    "SearchResult": "predictor_nas.search",
    "RankerConfig": "predictor_nas.ranker",
    "run_hybrid": "predictor_nas.hybrid",
    "run_pipeline": "predictor_nas.pipeline",
    "PipelineConfig": "predictor_nas.pipeline",
    "FinalTraining": "predictor_nas.pipeline",
    "load_hybrid_config": "predictor_nas.hybrid",
    "CostLimit": "predictor_nas.constraint",
    "op_table_cost": "predictor_nas.constraint",
    **{
        name: "predictor_nas.strategies"
        for name in ("RandomSearch", "REA", "TPE", "TPEHyperband", "ASHA", "get_strategy", "STRATEGIES")
    },
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name == "load_hybrid_config":
        return import_module("predictor_nas.hybrid").load_config
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'predictor_nas' has no attribute {name!r}")
