"""What a supernet epoch costs in child epochs, measured side by side (the hybrid's honest charge).

A supernet epoch runs every op of every edge (and, for DARTS-like methods, an architecture step per batch
on the other half of the data); a child epoch runs one cell on the pool's training images. Counting one as
the other undercharges the hybrid (the withdrawn hybrid results measured ~5x). :func:`measure_cost_ratio`
times epochs of each, interleaved in one process on the same device: a fresh supernet built from the
search's own configuration (its weight step, its architecture step and its per-epoch evaluation, as
:meth:`supernet.engine.diff_search.DiffSearch.run` does each epoch) and fresh child networks of a few cells of the
pool's space, each trained one epoch on the pool's data with the pool's recipe (training and its validation
pass); several random cells, not the search's selected one (a collapsed search's all-skip cell would make a
cheap child and an inflated ratio; the pool trains all kinds). On a CPU the clock is the process's CPU time,
so processes sharing the cores do not skew it.
The finished search itself is not touched. The ratio converts supernet epochs into the child epochs a
study's budget counts (:meth:`predictor_nas.study.Study.propose`).
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from typing import Any

import torch


class _Clock:
    """Seconds of work on ``device``: this process's CPU time on a CPU (other processes sharing the cores do
    not inflate it, and both sides of the ratio are counted alike), wall time after a sync on a GPU."""

    def __init__(self, device: torch.device):
        self.device = device
        self.read = time.perf_counter if device.type == "cuda" else time.process_time

    def __enter__(self) -> _Clock:
        self._sync()
        self.start = self.read()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._sync()
        self.seconds = self.read() - self.start

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def supernet_epoch_seconds(search: Any) -> float:
    """Seconds (:class:`_Clock`) of one search epoch of ``search`` (a fresh, throwaway
    :class:`~supernet.engine.diff_search.DiffSearch`): the weight and architecture steps and the epoch's evaluation."""
    with _Clock(search.device) as clock:
        search.train_epoch(update_arch=True)
        search.evaluate(batches=search.config.diag_batches)
    search.epoch += 1
    return clock.seconds


def child_epoch_seconds(runner: Any, arch: Any) -> float:
    """Seconds (:class:`_Clock`) of one training epoch and its validation pass of a fresh ``arch`` network with
    the pool's data and recipe (``runner``: a :class:`pools.runner.TrainingRunner`)."""
    from nas_core.training import Trainer

    trainer = Trainer(
        runner.network(arch), replace(runner.train_config, seed=0), runner.train_loader, runner.valid_loader
    )
    with _Clock(runner.device) as clock:
        trainer.train_to(1)
    return clock.seconds


def measure_cost_ratio(config: Any, runner: Any, seed: int, cells: int = 3) -> dict[str, Any]:
    """Epochs of a fresh supernet of ``config`` interleaved with one child epoch of each of ``cells`` random
    cells of ``runner``'s pool (drawn with ``seed``; supernet, child, supernet, child, ...), so that both sides
    see the same conditions: ``{"supernet_epoch_seconds", "child_epoch_seconds" (means), "ratio", "clock",
    "source"}``."""
    from supernet.engine.diff_search import DiffSearch

    if cells < 1:
        raise ValueError(f"measure_cost_ratio needs at least one child cell to time, got cells={cells!r}")
    rng = random.Random(f"cost:{seed}")
    archs = [runner.pool.space.sample(rng) for _ in range(cells)]
    search = DiffSearch(replace(config, epochs=max(config.epochs, len(archs) + 1)), run_dir=None)
    supernet_epoch_seconds(search)  # a first epoch warms caches and allocators up; not counted
    supernet, child = [], []
    for arch in archs:
        supernet.append(supernet_epoch_seconds(search))
        child.append(child_epoch_seconds(runner, arch))
    return {
        "supernet_epoch_seconds": round(sum(supernet) / len(supernet), 6),
        "child_epoch_seconds": round(sum(child) / len(child), 6),
        "ratio": sum(supernet) / sum(child),
        "clock": "wall (synchronised)" if search.device.type == "cuda" else "process CPU time",
        "source": "measured",
    }
