"""The candidate pool: the system of record of a search, in SQLite (default) or PostgreSQL.

Why not Optuna's storages for the job queue: Optuna's ``RDBStorage`` pops a waiting trial by
reading it and then updating it; SQLite ignores ``FOR UPDATE``, so two processes can pop the same
trial (measured: 36 of 200 jobs claimed twice by 8 processes on Optuna 5.0). Here every claim is a
single conditional ``UPDATE ... RETURNING`` inside a write transaction (``BEGIN IMMEDIATE`` on
SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a job is claimed by exactly one worker, and
"epoch finished" + "metrics recorded" + "checkpoint recorded" commit together. Heartbeats and
staleness use the *database's* clock, so workers on machines with skewed clocks still agree.
Optuna's artifact stores serve as checkpoint stores (``pools.store``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

import pools.schema as S
from pools.candidates import CandidateRecords
from pools.queue import JobQueue


class Pool(CandidateRecords, JobQueue):
    """A pool of candidates bound to one search space and dataset: its storage
    (:class:`~pools.storage.PoolStorage`), candidate records (:class:`~pools.candidates.CandidateRecords`) and
    job queue (:class:`~pools.queue.JobQueue`). Use :meth:`create` / :meth:`open`."""

    def never_trained(self) -> bool:
        """No epoch trained, observed or queued: the pool's configuration has shaped nothing yet (e.g. a
        search that failed on a wrong data folder before its first job)."""
        with self._read() as conn:
            if any(conn.execute(sa.select(t).limit(1)).first() for t in (S.epoch_metrics, S.jobs)):
                return False
        return self.total_epochs() == 0

    # -- reporting ------------------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        """Everything in the pool, as JSON-ready data."""
        metrics, proxies = self.metrics(), self.proxy_scores()
        cands = []
        for c in self.candidates():
            item = asdict(c)
            item["metrics"] = [asdict(m) for m in metrics.get(c.id, [])]
            item["proxies"] = proxies.get(c.id, {})
            item["checkpoints"] = [{"epoch": e, "key": k} for e, k in self.checkpoints(c.id)]
            cands.append(item)
        return {
            "url": self.url,
            "config": asdict(self.config),
            "candidates": cands,
            "jobs": [asdict(j) for j in self.jobs()],
        }
