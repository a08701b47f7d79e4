"""A pool's job queue: "train candidate c to epoch e" jobs, claimed by one worker each under a heartbeat lease.

Every claim is a single conditional ``UPDATE ... RETURNING`` in a write transaction, so a job is claimed by
exactly one worker; a worker that stops heartbeating loses its job to the next claim (:meth:`JobQueue.claim`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

import pools.schema as S
from pools.records import Job, LostLeaseError, PoolError
from pools.storage import PoolStorage, _retrying

log = logging.getLogger(__name__)


class JobQueue(PoolStorage):
    """Training jobs with leases: enqueue, claim, heartbeat, complete, fail, release."""

    @_retrying
    def enqueue(self, candidate_id: int, to_epoch: int, priority: float = 0.0) -> int | None:
        """Queue "train ``candidate_id`` to ``to_epoch``"; None when it is already trained that far."""
        if to_epoch < 1:
            raise ValueError(f"to_epoch must be >= 1, got {to_epoch}")
        with self._write() as conn:
            cand = conn.execute(sa.select(S.candidates).where(S.candidates.c.id == candidate_id)).first()
            if cand is None:
                raise PoolError(f"pool {self.url} has no candidate {candidate_id}")
            if cand.status == "failed":
                raise PoolError(
                    f"candidate {candidate_id} failed ({cand.error}); it is not trained further "
                    "(after fixing the cause: nas pool retry-failed URL)"
                )
            if cand.epochs_trained >= to_epoch:
                return None
            active_filter = S.jobs.c.state.in_(["queued", "running"])
            dialect = sqlite_dialect if self._sqlite else pg_dialect
            for _ in range(2):  # a concurrent enqueue may create the active job between the two statements
                active = conn.execute(
                    sa.select(S.jobs).where(S.jobs.c.candidate_id == candidate_id, active_filter)
                ).first()
                if active is not None:
                    if active.to_epoch >= to_epoch:
                        return active.id
                    if active.state == "queued":
                        conn.execute(sa.update(S.jobs).where(S.jobs.c.id == active.id).values(to_epoch=to_epoch))
                        return active.id
                    raise PoolError(
                        f"candidate {candidate_id} is being trained to epoch {active.to_epoch}; "
                        f"enqueue epoch {to_epoch} after that job finishes"
                    )
                job_id = conn.execute(
                    dialect.insert(S.jobs)
                    .values(
                        candidate_id=candidate_id,
                        to_epoch=to_epoch,
                        state="queued",
                        priority=priority,
                        max_attempts=self.config.max_attempts,
                        created_at=time.time(),
                    )
                    # the partial unique index jobs_one_active_per_candidate (its predicate, as literal SQL)
                    .on_conflict_do_nothing(
                        index_elements=["candidate_id"], index_where=sa.text("state IN ('queued', 'running')")
                    )
                    .returning(S.jobs.c.id)
                ).scalar_one_or_none()
                if job_id is not None:
                    conn.execute(
                        sa.update(S.candidates).where(S.candidates.c.id == candidate_id).values(status="queued")
                    )
                    return job_id
            raise PoolError(f"candidate {candidate_id}: could not enqueue epoch {to_epoch} (concurrent changes)")

    @_retrying
    def claim(self, worker: str) -> Job | None:
        """Atomically take the highest-priority queued job (after requeueing jobs of dead workers).

        One write transaction: stale jobs are requeued (or failed) and one queued job is claimed.
        """
        now = self._now()
        next_id = (
            sa.select(S.jobs.c.id)
            .where(S.jobs.c.state == "queued")
            .order_by(S.jobs.c.priority.desc(), S.jobs.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self._write() as conn:
            self._requeue_stale(conn)
            row = conn.execute(
                sa.update(S.jobs)
                .where(S.jobs.c.id == next_id, S.jobs.c.state == "queued")
                .values(state="running", worker=worker, heartbeat=now, started_at=now, attempts=S.jobs.c.attempts + 1)
                .returning(*S.jobs.c)
            ).first()
            if row is None:
                return None
            conn.execute(sa.update(S.candidates).where(S.candidates.c.id == row.candidate_id).values(status="training"))
        return Job(**row._mapping)

    def _renew(self, conn: Connection, job_id: int, worker: str | None) -> None:
        renewed = conn.execute(
            sa.update(S.jobs)
            .where(S.jobs.c.id == job_id, S.jobs.c.worker == worker, S.jobs.c.state == "running")
            .values(heartbeat=self._now())
        ).rowcount
        if renewed != 1:
            raise LostLeaseError(f"job {job_id} is no longer held by worker {worker!r} (heartbeat timed out)")

    @_retrying
    def heartbeat(self, job: Job, worker: str) -> None:
        """Keep ``worker``'s lease on ``job``; raises :class:`LostLeaseError` if it was lost."""
        with self._write() as conn:
            self._renew(conn, job.id, worker)

    @_retrying
    def requeue_stale(self) -> int:
        """Jobs whose worker stopped heartbeating: requeue them, or fail them after ``max_attempts``."""
        with self._write() as conn:
            return self._requeue_stale(conn)

    def _requeue_stale(self, conn: Connection) -> int:
        stale = sa.and_(S.jobs.c.state == "running", S.jobs.c.heartbeat < self._now() - self.config.heartbeat_timeout)
        lost = "worker lost (heartbeat timed out) on every attempt"
        failed = (
            conn.execute(
                sa.update(S.jobs)
                .where(stale, S.jobs.c.attempts >= S.jobs.c.max_attempts)
                .values(state="failed", finished_at=self._now(), error=lost)
                .returning(S.jobs.c.candidate_id)
            )
            .scalars()
            .all()
        )
        requeued = conn.execute(
            sa.update(S.jobs)
            .where(stale)
            .values(state="queued", worker=None)
            .returning(S.jobs.c.id, S.jobs.c.candidate_id)
        ).all()
        if failed:
            conn.execute(
                sa.update(S.candidates).where(S.candidates.c.id.in_(failed)).values(status="failed", error=lost)
            )
        if requeued:
            conn.execute(
                sa.update(S.candidates)
                .where(S.candidates.c.id.in_([r.candidate_id for r in requeued]))
                .values(status="queued")
            )
        for r in requeued:
            log.warning("job %d (candidate %d): worker stopped heartbeating; requeued", r.id, r.candidate_id)
        return len(requeued)

    @_retrying
    def complete(self, job: Job, worker: str) -> None:
        with self._write() as conn:
            done = conn.execute(
                sa.update(S.jobs)
                .where(S.jobs.c.id == job.id, S.jobs.c.worker == worker, S.jobs.c.state == "running")
                .values(state="done", finished_at=self._now())
            ).rowcount
            if done != 1:
                raise LostLeaseError(f"job {job.id} is no longer held by worker {worker!r}")
            conn.execute(sa.update(S.candidates).where(S.candidates.c.id == job.candidate_id).values(status="idle"))

    @_retrying
    def fail(self, job: Job, worker: str, error: str, retry: bool = True) -> str:
        """Record a failed attempt: requeue while attempts remain (and ``retry``), else mark failed.

        Returns the job's new state.
        """
        with self._write() as conn:
            row = conn.execute(
                sa.select(S.jobs)
                .where(S.jobs.c.id == job.id, S.jobs.c.worker == worker, S.jobs.c.state == "running")
                .with_for_update()
            ).first()
            if row is None:
                raise LostLeaseError(f"job {job.id} is no longer held by worker {worker!r}")
            state = "queued" if retry and row.attempts < row.max_attempts else "failed"
            conn.execute(
                sa.update(S.jobs)
                .where(S.jobs.c.id == job.id)
                .values(
                    state=state,
                    error=error,
                    worker=None if state == "queued" else worker,
                    finished_at=None if state == "queued" else self._now(),
                )
            )
            conn.execute(
                sa.update(S.candidates)
                .where(S.candidates.c.id == job.candidate_id)
                .values(status=state if state == "failed" else "queued", error=error if state == "failed" else None)
            )
        (log.warning if state == "queued" else log.error)(
            "job %d (candidate %d) failed: %s -> %s", job.id, job.candidate_id, error, state
        )
        return state

    @_retrying
    def retry_failed(self, candidate_ids: Sequence[int] | None = None) -> list[int]:
        """Make failed candidates trainable again once the fault (a full disk, a lost store) is fixed:
        their status goes back to idle and their error is cleared; the failed jobs stay as history.
        Returns the ids reset (all failed candidates, or those of ``candidate_ids`` that failed)."""
        where = S.candidates.c.status == "failed"
        if candidate_ids is not None:
            where = sa.and_(where, S.candidates.c.id.in_(list(candidate_ids)))
        with self._write() as conn:
            ids = conn.execute(
                sa.update(S.candidates).where(where).values(status="idle", error=None).returning(S.candidates.c.id)
            ).scalars()
            return sorted(ids)

    @_retrying
    def release(self, job: Job, worker: str) -> None:
        """Give ``worker``'s running job back to the queue without counting the attempt (an interrupt or a
        pre-emption is not the candidate's fault); raises :class:`LostLeaseError` if it is not held."""
        with self._write() as conn:
            released = conn.execute(
                sa.update(S.jobs)
                .where(S.jobs.c.id == job.id, S.jobs.c.worker == worker, S.jobs.c.state == "running")
                .values(state="queued", worker=None, attempts=S.jobs.c.attempts - 1)  # the claim counted it
            ).rowcount
            if released != 1:
                raise LostLeaseError(f"job {job.id} is no longer held by worker {worker!r}")
            conn.execute(sa.update(S.candidates).where(S.candidates.c.id == job.candidate_id).values(status="queued"))
        log.warning("job %d (candidate %d) released by interrupted worker %s", job.id, job.candidate_id, worker)

    @_retrying
    def jobs(self, state: str | None = None) -> list[Job]:
        query = sa.select(S.jobs).order_by(S.jobs.c.id)
        if state is not None:
            query = query.where(S.jobs.c.state == state)
        with self._read() as conn:
            return [Job(**r._mapping) for r in conn.execute(query)]

    @_retrying
    def count_jobs(self) -> dict[str, int]:
        with self._read() as conn:
            rows = conn.execute(sa.select(S.jobs.c.state, sa.func.count()).group_by(S.jobs.c.state)).all()
        return {state: n for state, n in rows}
