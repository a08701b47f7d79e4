"""How a search brings candidates to an epoch budget: a table lookup or real training via the pool."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pools import Candidate, EpochRecord, Pool

log = logging.getLogger(__name__)


class Backend(Protocol):
    """Brings candidates to epoch budgets and records their *validation* accuracy; it reports nothing.

    A lookup backend (``incremental = True``) returns the records for the caller to commit -- the
    search commits them in one transaction with its own state, so a crash never separates the two.
    A training backend has its workers commit metrics as they train and returns ``None``.
    ``resumes``: whether bringing a candidate from e1 to e2 costs e2 - e1 (else e2; see
    :func:`predictor_nas.evaluators.epochs_charged`); ``charging`` labels results with it.
    """

    incremental: bool
    resumes: bool
    charging: str

    def train(self, pool: Pool, candidates: Sequence[Candidate], epoch: int) -> dict[int, list[EpochRecord]] | None: ...


class TabularBackend:
    """Looks validation results up in a tabular evaluator (e.g. :class:`TabularNB201Evaluator`)."""

    incremental = True

    def __init__(self, evaluator: Any):
        self.evaluator = evaluator
        self.resumes, self.charging = evaluator.resumes, evaluator.charging

    def train(self, pool: Pool, candidates: Sequence[Candidate], epoch: int) -> dict[int, list[EpochRecord]]:
        return {c.id: [EpochRecord(epoch, valid_acc=self.evaluator.observe(c.arch, epoch))] for c in candidates}


class PoolTrainingBackend:
    """Real training: each candidate becomes a pool job "train to epoch e" (resumed from its checkpoint).

    With ``external_workers=False`` an in-process worker runs the jobs; otherwise the search waits
    while ``nas worker --pool URL`` processes (one per GPU, any number of machines) run them.
    Training resumes from checkpoints, so a candidate is charged the epochs it really trains.
    """

    incremental = False

    def __init__(
        self,
        pool: Pool,
        device: str = "auto",
        data_root: str | None = None,
        external_workers: bool = False,
        poll_interval: float = 2.0,
        charge_resumed: bool = True,
    ):
        """``charge_resumed=False``: a promotion from e1 to e2 is charged e2, as if retrained from scratch
        (the no-resume ablation; the learning curve itself is the same: the pool's schedule is fixed and
        a resumed run equals an uninterrupted one)."""
        from pools.runner import TrainingRunner
        from pools.worker import default_worker_name

        self.runner = TrainingRunner(pool, device, data_root)
        self.external_workers, self.poll_interval = external_workers, poll_interval
        self.worker_name = default_worker_name()  # one name for the search's own worker, every level
        self.resumes = charge_resumed
        self.charging = "resumed" if charge_resumed else "scratch"

    def train(self, pool: Pool, candidates: Sequence[Candidate], epoch: int) -> None:
        ids = {c.id for c in candidates}
        for cid in sorted(ids):
            pool.enqueue(cid, epoch)
        if not self.external_workers:
            from pools.worker import Worker

            Worker(pool, self.runner, name=self.worker_name).run()
            return
        while True:
            pending = [
                c for c in pool.candidates() if c.id in ids and c.epochs_trained < epoch and c.status != "failed"
            ]
            if not pending:
                return
            log.info("waiting for %d candidate(s) to reach epoch %d (external workers)", len(pending), epoch)
            time.sleep(self.poll_interval)


class PoolTestReporter:
    """The test accuracy of a pool candidate's latest checkpoint, for the final report of a search."""

    def __init__(self, pool: Pool, backend: PoolTrainingBackend):
        self.pool, self.runner = pool, backend.runner

    def report(self, arch: Any) -> float:
        candidate = self.pool.find(arch)
        if candidate is None:
            raise KeyError(f"architecture {arch!r} is not in the pool {self.pool.url}")
        return self.runner.test_accuracy(candidate)


class PoolObserver:
    """``observe(arch, epoch) -> validation accuracy`` through a study's backend: how the strategies that take one
    architecture at a time (random search, REA, TPE, Hyperband, ASHA) train one. The architecture joins the pool
    (lineage ``lineage``) and :meth:`Backend.train` -- the one "train to epoch e" interface, the call RANK-NOSH
    makes -- brings it to ``epoch`` (a table looks it up and the records are committed here; training resumes
    from the checkpoint and the workers commit); the accuracy is read back from the pool. So every strategy runs
    on every backend, and a rerun finds its architectures trained. ``resumes`` and ``charging`` are the backend's.
    """

    def __init__(
        self,
        pool: Pool,
        backend: Backend,
        lineage: str = "random",
        on_progress: Callable[[int, float | None], None] | None = None,
    ):
        """``on_progress(epochs trained in the pool, best validation so far)`` after each observation of a
        training backend (a lookup backend trains nothing: the strategy's own trajectory is its progress)."""
        self.pool, self.backend, self.lineage, self.on_progress = pool, backend, lineage, on_progress
        self.resumes, self.charging = backend.resumes, backend.charging
        self.best: float | None = None

    def _validation(self, cid: int, epoch: int) -> float | None:
        record = next((r for r in self.pool.metrics(cid).get(cid, []) if r.epoch == epoch), None)
        return None if record is None or record.valid_acc is None else float(record.valid_acc)

    def observe(self, arch: Any, epoch: int) -> float:
        ((cid, _),) = self.pool.add_candidates([arch], lineage=self.lineage)
        value = self._validation(cid, epoch)
        if value is None:
            records = self.backend.train(self.pool, [self.pool.candidate(cid)], epoch)
            if records is None:  # a training backend: its workers committed the metrics
                value = self._validation(cid, epoch)
            else:  # a lookup backend: its records are committed here, and hold the value
                self.pool.record_observations(records)
                value = next((r.valid_acc for r in records.get(cid, []) if r.epoch == epoch), None)
        if value is None:
            raise RuntimeError(f"candidate {cid} ({arch}) has no validation accuracy at epoch {epoch}")
        value = float(value)
        self.best = max(self.best or 0.0, value)
        if self.on_progress and not getattr(self.backend, "incremental", False):
            self.on_progress(self.pool.total_epochs(), self.best)
        return value
