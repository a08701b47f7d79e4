"""RANK-NOSH on the tabular NAS-Bench-201 CIFAR-10 table (seconds; tables in ../shared/data/nb201 or $NAS_NB201_DIR).

The search observes 12- and 200-epoch *validation* accuracies only; the test accuracy of what it found is
read once, after it returns (the honest protocol of ../shared/data/README.md).

    python examples/tabular_rank_nosh.py            # 3,000 epochs of simulated training
    python examples/tabular_rank_nosh.py --tiny     # 600 (what the test suite runs)
"""

import sys

from predictor_nas import Study, search_preset

budget = 600 if "--tiny" in sys.argv else 3000
config = search_preset("tabular", budget_epochs=budget, seed=0)

study = Study.create(config, benchmark="nb201:cifar10", run_dir="runs/examples/tabular")
result = study.optimize(on_progress=lambda epochs, valid: None)  # a callback per charge (e.g. a tqdm bar)
print(f"found {result.best_arch}")
print(f"  validation {result.observed:.2f} % at {result.observed_epoch} epochs, cost {result.cost_epochs} epochs")

study.report(result)  # the search has returned: read the test accuracy once
print(f"  test {result.test_accuracy:.2f} % (benchmark optimum {study.optimum():.2f} %)")

random = study.report(study.baseline("random"))  # a baseline on the same budget, reported the same way
print(f"random search at the same budget: test {random.test_accuracy:.2f} %")
study.close()
