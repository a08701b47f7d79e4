"""The best cell under a size limit: RANK-NOSH never trains a candidate over it, and the report draws the
accuracy-parameters front of what was trained (front.json, front.png in the run directory).

The limit here is set below the size of the unconstrained search's winner, so that it binds. Other costs:
``CostLimit("flops", ...)`` (MFLOPs per image), ``CostLimit("latency_ms", ...)`` (measured on the search's
device) or ``CostLimit(op_table_cost(space, {"nor_conv_3x3": 0.8, ...}), ...)`` (your device's latency table).

    python examples/cost_limit.py            # a few CPU minutes
    python examples/cost_limit.py --tiny     # seconds (the test suite)
"""

import sys

from nas_core import NetworkSize
from predictor_nas import CandidateTraining, CostLimit, Study, search_preset

tiny = "--tiny" in sys.argv
training = CandidateTraining(
    dataset="digits", max_train=400 if tiny else None, network=NetworkSize(4, 1) if tiny else NetworkSize(8, 1)
)
config = (
    search_preset("quick", budgets=(1, 2), k=2, initial=3, level0_samples=6, budget_epochs=14)
    if tiny
    else (search_preset("quick", budget_epochs=80))
)
out = "runs/examples/cost_limit"

free = Study.create(config, training=training, run_dir=f"{out}/free")
best = free.report(free.optimize())
size = free.cost_of(best.best_arch, best.best_arch)  # parameters (millions) at the pool's network size
print(f"no limit:  {best.best_arch}  {size:.4f} M params, validation {best.observed:.2f} %")
free.close()

limit = CostLimit("params", 0.8 * size)
bound = Study.create(config, training=training, run_dir=f"{out}/limited", limit=limit)
found = bound.report(bound.optimize())
front = bound.front()
print(
    f"<= {limit.limit:.4f} M: {found.best_arch}  {bound.cost_of(found.best_arch, found.best_arch):.4f} M params, "
    f"validation {found.observed:.2f} %"
)
print(
    f"front: {sum(r.get('front', False) for r in front['candidates'])} of {len(front['candidates'])} trained "
    f"candidates -> {out}/limited/front.png"
)
bound.close()
