"""Shared fixtures: where the shared benchmark data lives, tiny datasets, GPU marker handling."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NAS_SHARED_DATA", ROOT.parent / "shared" / "data"))
FASHION_MNIST = Path(os.environ.get("NAS_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))

# pytest-xdist (pyproject's addopts run the suite in 2 processes): the cores are shared out between them
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, torch.get_num_threads()) // WORKERS))
# the scripts and workers the tests start as subprocesses: one thread each, since they run beside this
# process (CI's machine may show more cores than its CPU quota allows, and torch would take them all)
os.environ.setdefault("OMP_NUM_THREADS", "1")
# `nas pipeline` reuses retrainings across runs (nas_core.training.retrain_cache): the tests' own cache, one
# per process, so a test never reads the user's ~/.cache nor another test's retraining
os.environ["NAS_RETRAIN_CACHE"] = tempfile.mkdtemp(prefix="nas-test-retrain-cache-")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA; no GPU on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or $NAS_SHARED_DATA); skips when it is not beside the checkout."""
    if not (SHARED_DATA / "nb201" / "nb201_200ep_val_test_v1_0.csv").exists():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA} (set NAS_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fashion_mnist_root() -> Path:
    if not any(FASHION_MNIST.glob("train-images-idx3-ubyte*")):
        pytest.skip(f"Fashion-MNIST not installed at {FASHION_MNIST} (apt-get install dataset-fashion-mnist)")
    return FASHION_MNIST


@pytest.fixture(scope="session")
def digits_splits():
    from nas_core.data import make_splits

    return make_splits("digits", valid_fraction=0.25, seed=0)


from postgres import postgres_server, postgres_url, restartable_postgres  # noqa: E402,F401  (fixtures)
