"""How a search brings candidates to an epoch budget: a table lookup or real training via the pool."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from pools import Candidate, EpochRecord, Pool

log = logging.getLogger(__name__)


class Backend(Protocol):
    """Brings candidates to epoch budgets.

    A lookup backend (``incremental = True``) returns the records for the caller to commit -- the
    search commits them in one transaction with its own state, so a crash never separates the two.
    A training backend has its workers commit metrics as they train and returns ``None``.
    """

    incremental: bool

    def train(self, pool: Pool, candidates: Sequence[Candidate], epoch: int) -> dict[int, list[EpochRecord]] | None: ...

    def report(self, pool: Pool, candidate: Candidate) -> float | None: ...


class TabularBackend:
    """Looks results up in a tabular evaluator (e.g. :class:`TabularNB201Evaluator`); costs no time."""

    incremental = True

    def __init__(self, evaluator: Any):
        self.evaluator = evaluator

    def train(self, pool: Pool, candidates: Sequence[Candidate], epoch: int) -> dict[int, list[EpochRecord]]:
        return {c.id: [EpochRecord(epoch, valid_acc=self.evaluator.observe(c.arch, epoch))] for c in candidates}

    def report(self, pool: Pool, candidate: Candidate) -> float | None:
        return self.evaluator.report(candidate.arch)


class PoolTrainingBackend:
    """Real training: each candidate becomes a pool job "train to epoch e" (resumed from its checkpoint).

    With ``external_workers=False`` an in-process worker runs the jobs; otherwise the search waits
    while ``nas worker --pool URL`` processes (one per GPU, any number of machines) run them.
    The reported accuracy is the test accuracy of the candidate's latest checkpoint.
    """

    incremental = False

    def __init__(
        self,
        pool: Pool,
        device: str = "auto",
        data_root: str | None = None,
        external_workers: bool = False,
        poll_interval: float = 2.0,
    ):
        from pools.runner import TrainingRunner

        self.runner = TrainingRunner(pool, device, data_root)
        self.external_workers, self.poll_interval = external_workers, poll_interval
        self._reported: dict[tuple[int, int], float] = {}

    def train(self, pool: Pool, candidates: Sequence[Candidate], epoch: int) -> None:
        ids = {c.id for c in candidates}
        for cid in sorted(ids):
            pool.enqueue(cid, epoch)
        if not self.external_workers:
            from pools.worker import Worker

            Worker(pool, self.runner).run()
            return
        while True:
            pending = [
                c for c in pool.candidates() if c.id in ids and c.epochs_trained < epoch and c.status != "failed"
            ]
            if not pending:
                return
            log.info("waiting for %d candidate(s) to reach epoch %d (external workers)", len(pending), epoch)
            time.sleep(self.poll_interval)

    def report(self, pool: Pool, candidate: Candidate) -> float | None:
        candidate = pool.candidate(candidate.id)
        key = (candidate.id, candidate.epochs_trained)
        if key not in self._reported:
            self._reported[key] = self.runner.test_accuracy(candidate)
        return self._reported[key]
