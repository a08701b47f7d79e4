"""Search on your own images: tensors in, the best cell of a RANK-NOSH search out.

Any (images, labels) pair works -- uint8 or float, (N, H, W), (N, C, H, W) or (N, H, W, C), any number of
classes -- and so does a torch Dataset of (image, label) pairs or a (train, test) pair of either. The study
checks the data, writes it to RUN_DIR/data-<hash>.npz (what every worker reads; `nas worker` processes
elsewhere read the same file) and holds out 20 % as the test split when you give none.

    python examples/own_data.py            # a few CPU minutes
    python examples/own_data.py --tiny     # seconds (the test suite)
"""

import sys

import torch
from sklearn.datasets import load_digits

from nas_core import NetworkSize
from predictor_nas import CandidateTraining, Study, search_preset

tiny = "--tiny" in sys.argv
digits = load_digits()  # stands in for your data: 1,797 float images of 8 x 8 pixels in [0, 16], 10 classes
images = torch.tensor(digits.images / 16.0, dtype=torch.float32)  # (N, H, W) floats in [0, 1]
labels = torch.tensor(digits.target)

training = CandidateTraining(
    dataset=(images, labels),  # or torch.utils.data.TensorDataset(images, labels), or ((x, y), (x_test, y_test))
    max_train=400 if tiny else None,
    network=NetworkSize(4, 1) if tiny else NetworkSize(8, 1),
    batch_size=64,
    split_seed=0,  # the train/validation split's own seed (default: the search's)
)
config = (
    search_preset("quick", budgets=(1, 2), k=2, initial=3, level0_samples=5, budget_epochs=12)
    if tiny
    else (search_preset("quick", budget_epochs=60))
)
study = Study.create(config, training=training, run_dir="runs/examples/own_data")
result = study.optimize()
study.report(result)  # the search has returned: the test split is read now, once
print(f"found {result.best_arch}: validation {result.observed:.2f} %, test {result.test_accuracy:.2f} %")
print(f"the data every worker reads: {study.pool.config.data_root}")
study.close()
