"""DARTS on the NAS-Bench-201 cell space with DARTS-PT's perturbation selection (Wang et al. 2021).

Searches on Fashion-MNIST (the Debian package dataset-fashion-mnist; $NAS_FASHION_MNIST elsewhere),
then selects each edge's op by how much the supernet's validation accuracy drops without it, not by
the largest α -- and shows where the two rules disagree.

    python examples/darts_pt.py            # 10 epochs, C=8, 2,000 images, 1 tuning epoch per edge: ~4 CPU minutes
    python examples/darts_pt.py --tiny     # 1 epoch on 256 images (what the test suite runs)
"""

import sys

from nas_core import NetworkSize
from supernet import differentiable_search

tiny = "--tiny" in sys.argv
size = (
    dict(epochs=1, max_train=256, network=NetworkSize(4, 1), batch_size=32, pt_eval_batches=1)
    if tiny
    else dict(max_train=2000)
)

run = differentiable_search(
    "darts",  # any name of supernet.method_names(): "sdarts-rs", "drnas", "gdas", ...
    selection="pt",
    pt_tune_epochs=1,  # supernet tuning between two edge decisions (the paper: 5)
    preset="quick",  # CPU-sized; "paper" (the default) is DARTS's published 50-epoch search
    dataset="fashion-mnist",
    run_dir="runs/examples/darts_pt",  # resumes from here when run again
    on_epoch=lambda entry: print(f"epoch {entry['epoch']}: supernet valid {entry['valid_acc']:.1f} %"),
    **size,
)
print(f"PT selection: {run.genotype}  ({run.supernet_epochs} supernet epochs: search + PT tuning)")

# "magnitude is not strength": per edge, the op PT kept vs the op with the largest final α
ops, final = run.search.space.ops, run.alpha_history[-1]["normal"]
for step in run.result.selection_log:  # one entry per edge decision, in PT's (random) order
    edge = step["edge"][1]
    largest = ops[max(range(len(ops)), key=final[edge].__getitem__)]
    print(f"  edge {edge}: PT keeps {step['chosen']:<13} largest α: {largest}")
