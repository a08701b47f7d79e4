"""Search your own cell space: NAS-Bench-201's DAG with operations it never had, one of them your own.

An operation is one registered factory ``(C_in, C_out, stride, affine) -> nn.Module``; a space is a list of
operation names and a node count. The pool, the supernet, the ranker's graph encoding, the proxies and
export all take it from there. Here DrNAS searches the space and proposes cells (warm-started from its
supernet) to a RANK-NOSH pool, which finishes the search: the hybrid, on a space the code has never seen.

    python examples/own_space.py            # a few CPU minutes
    python examples/own_space.py --tiny     # seconds (the test suite)
"""

import random
import sys

import torch
from sklearn.datasets import load_digits
from torch import nn

from nas_core import NetworkSize, declare_space, register_op
from nas_core.ops import ReLUConvBN
from predictor_nas import CandidateTraining, Study, search_preset
from supernet import differentiable_search


@register_op("conv_5x5")  # your operation: a factory (C_in, C_out, stride, affine) -> module
def conv_5x5(C_in: int, C_out: int, stride: int, affine: bool) -> nn.Module:
    return ReLUConvBN(C_in, C_out, 5, stride, 2, affine=affine)


space = declare_space("my-dag", ("none", "skip_connect", "conv_5x5", "dil_conv_3x3", "max_pool_3x3"), nodes=4)
print(f"{space.name}: {space.size():,} cells, e.g. {space.sample(random.Random(0))}")

tiny = "--tiny" in sys.argv
digits = load_digits()
data = (torch.tensor(digits.images / 16.0, dtype=torch.float32), torch.tensor(digits.target))
training = CandidateTraining(
    dataset=data, max_train=400 if tiny else None, network=NetworkSize(4, 1) if tiny else NetworkSize(8, 1)
)
config = (
    search_preset("quick", budgets=(1, 2), k=2, initial=3, level0_samples=5, budget_epochs=16)
    if tiny
    else (search_preset("quick", budget_epochs=80))
)
out = "runs/examples/own_space"
study = Study.create(config, training=training, space="my-dag", run_dir=f"{out}/pool")

run = differentiable_search(
    "drnas", preset="quick", run_dir=f"{out}/drnas", **study.supernet_settings(epochs=1 if tiny else 5)
)
added = study.propose(run, samples=2, warm_start=True)
print(f"DrNAS selected {run.genotype} -> {len(added)} proposals")
result = study.optimize()
study.report(result)
print(
    f"RANK-NOSH + DrNAS found {result.best_arch} (from {study.lineage_of(result.best_arch)}): "
    f"validation {result.observed:.2f} %, test {result.test_accuracy:.2f} %"
)
study.close()
