"""Mix both jobs by hand: two differentiable searches propose and warm-start a RANK-NOSH pool, RANK-NOSH
finishes, the winner is retrained and exported. Change a method name below to try another mix.

    python examples/mix_by_hand.py            # about 10 CPU minutes on Fashion-MNIST
    python examples/mix_by_hand.py --tiny     # seconds, on scikit-learn's digits (the test suite)
"""

import sys

import torch

from nas_core import NETWORKS, NetworkSize
from predictor_nas import CandidateTraining, Study, search_preset
from supernet import differentiable_search, retrain

tiny = "--tiny" in sys.argv
if tiny:
    training = CandidateTraining(
        dataset="digits", max_train=256, max_test=256, network=NetworkSize(4, 1), batch_size=64
    )
    config = search_preset("quick", budgets=(1, 2), k=2, initial=4, level0_samples=6, budget_epochs=40)
    supernet_epochs, final_size = 1, dict(network=NetworkSize(4, 1), epochs=1)
else:
    training = CandidateTraining(max_train=2000, max_test=2000)  # Fashion-MNIST, C=8, one cell per stage
    config = search_preset("quick", budget_epochs=150)
    supernet_epochs, final_size = 4, dict(network=NETWORKS["quick"], epochs=3)

out = "runs/examples/mix"
study = Study.create(config, training=training, run_dir=f"{out}/pool")

# 1. two differentiable methods on the pool's data and network size (so children can inherit weights)
for method in ("darts", "gdas"):  # any two of supernet.method_names()
    settings = study.supernet_settings(epochs=supernet_epochs)  # the pool's data and size, plus overrides
    run = differentiable_search(method, run_dir=f"{out}/{method}", **settings)
    added = study.propose(run, samples=4, warm_start=True)  # the selected cell and 4 samples of α
    print(f"{method}: {run.genotype}  -> {len(added)} new candidates")

# 2. RANK-NOSH spends what is left of the budget (each supernet epoch is charged its measured cost in child
#    epochs: every op of every edge runs, several child epochs' worth)
result = study.optimize()
print(f"RANK-NOSH: {result.best_arch} (validation {result.observed:.2f} %, from {study.lineage_of(result.best_arch)})")
print(f"epochs: {study.supernet_epochs} supernet (charged {study.supernet_charge:.0f}) + {result.cost_epochs} pool")
study.close()

# 3. the winner, retrained from scratch (NB201 protocol, shortened; 10 % of the images validate), tested once
final = retrain(result.best_arch, dataset=training.dataset, run_dir=f"{out}/final", batch_size=128, **final_size)
print(f"retrained: test {final.test_accuracy:.2f} %, {final.params_millions:.3f} M params -> {final.exported}")
model = torch.export.load(final.exported).module()  # the exported model, ready for inference
print("class scores of one image:", tuple(model(torch.randn(1, *final.input_shape)).shape))
