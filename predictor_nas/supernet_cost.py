"""What a supernet epoch costs in child epochs, measured side by side (the hybrid's honest charge).

A supernet epoch runs every op of every edge (and, for DARTS-like methods, an architecture step per batch
on the other half of the data); a child epoch runs one cell on the pool's training images. Counting one as
the other undercharges the hybrid (the withdrawn hybrid results measured ~5x). :func:`measure_cost_ratio`
times one epoch of each, back to back in one process on the same device: a fresh supernet built from the
search's own configuration (its weight step, its architecture step and its per-epoch evaluation, as
:meth:`supernet.diff_search.DiffSearch.run` does each epoch) and a fresh child network of the search's
cell of the pool's space trained one epoch on the pool's data with the pool's recipe (training and its
validation pass), averaged over a few cells (a collapsed search's all-skip cell would make a cheap child
and an inflated ratio; the pool trains all kinds).
The finished search itself is not touched. The ratio converts supernet epochs into the child epochs a
study's budget counts (:meth:`predictor_nas.study.Study.propose`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import torch


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def supernet_epoch_seconds(config: Any) -> float:
    """Wall seconds of one search epoch of a fresh :class:`~supernet.diff_search.DiffSearch` with ``config``."""
    from supernet.diff_search import DiffSearch

    search = DiffSearch(replace(config, epochs=max(config.epochs, 1)), run_dir=None)
    _synchronize(search.device)
    start = time.perf_counter()
    search.train_epoch(update_arch=True)
    search.evaluate(batches=config.diag_batches)
    _synchronize(search.device)
    return time.perf_counter() - start


def child_epoch_seconds(runner: Any, arch: Any) -> float:
    """Wall seconds of one training epoch (and its validation pass) of a fresh ``arch`` network with the
    pool's data and recipe (``runner``: a :class:`pools.runner.TrainingRunner`)."""
    from supernet.training import Trainer

    trainer = Trainer(
        runner.network(arch), replace(runner.train_config, seed=0), runner.train_loader, runner.valid_loader
    )
    _synchronize(runner.device)
    start = time.perf_counter()
    trainer.train_to(1)
    _synchronize(runner.device)
    return time.perf_counter() - start


def measure_cost_ratio(config: Any, runner: Any, archs: list[Any]) -> dict[str, Any]:
    """One supernet epoch of ``config`` and one child epoch of each of ``archs`` on ``runner``'s pool, timed
    side by side: ``{"supernet_epoch_seconds", "child_epoch_seconds" (their mean), "ratio", "source"}``."""
    if not archs:
        raise ValueError("measure_cost_ratio needs at least one child architecture to time")
    supernet = supernet_epoch_seconds(config)
    child = sum(child_epoch_seconds(runner, a) for a in archs) / len(archs)
    return {
        "supernet_epoch_seconds": round(supernet, 3),
        "child_epoch_seconds": round(child, 3),
        "ratio": supernet / child,
        "source": "measured",
    }
