"""A worker process: claim a job, hold its lease with a heartbeat thread, run it, report, repeat.

Run one per GPU (``nas worker --pool URL --device cuda:1``), on any number of machines when the
pool is on PostgreSQL. A worker that dies stops heartbeating; after the pool's heartbeat timeout
another worker requeues and resumes its job from the last epoch checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from typing import Protocol

from nas_core.spaces import ArchitectureError
from nas_core.training import TrainingDivergedError
from pools.interrupts import INTERRUPTS, uninterrupted
from pools.pool import Pool
from pools.records import Job, LostLeaseError, PoolError

log = logging.getLogger(__name__)

NOT_RETRYABLE = (TrainingDivergedError, ArchitectureError, ValueError)


class JobRunner(Protocol):
    def run(self, job: Job, lease: JobLease) -> None: ...


class _Lease:
    """A lease kept alive from a background thread: ``_renew`` every ``interval`` seconds until the
    ``with`` block ends; a renewal that finds the lease taken marks it lost (:meth:`check` raises)."""

    def __init__(self, pool: Pool, worker: str, interval: float, name: str):
        self.pool, self.worker, self.interval = pool, worker, interval
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=name, daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _renew(self) -> None:
        raise NotImplementedError

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._renew()
            except LostLeaseError:
                self._lost.set()
                return
            except Exception as exc:  # a database hiccup: keep trying until the lease times out
                log.warning("%s: renewal failed: %s", self._thread.name, exc)

    @property
    def lost(self) -> bool:
        return self._lost.is_set()


class JobLease(_Lease):
    """Keeps ``worker``'s claim on ``job`` alive from a background thread."""

    def __init__(self, pool: Pool, job: Job, worker: str, interval: float):
        super().__init__(pool, worker, interval, f"heartbeat-job-{job.id}")
        self.job = job

    def _renew(self) -> None:
        self.pool.heartbeat(self.job, self.worker)

    def check(self) -> None:
        if self.lost:
            raise LostLeaseError(f"job {self.job.id} was taken away from worker {self.worker!r}")


class SearchLease(_Lease):
    """One search per pool: ``owner`` holds the pool's lease on ``key`` while the search runs
    (:meth:`Pool.hold` refuses a second owner until the lease has not been renewed for the pool's
    heartbeat timeout, i.e. its holder died)."""

    def __init__(self, pool: Pool, key: str, owner: str | None = None):
        self.key, self.timeout = key, pool.config.heartbeat_timeout
        super().__init__(pool, owner or default_worker_name(), self.timeout / 4, f"lease-{key}")

    def __enter__(self) -> SearchLease:
        self.pool.hold(self.key, self.worker, self.timeout)  # PoolError when another search holds it
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.pool.let_go(self.key, self.worker)

    def _renew(self) -> None:
        try:
            self.pool.hold(self.key, self.worker, self.timeout)
        except PoolError as exc:  # another search took the pool over (this one was presumed dead)
            raise LostLeaseError(str(exc)) from None

    def check(self) -> None:
        if self.lost:
            raise LostLeaseError(f"the {self.key} search of {self.worker!r} lost pool {self.pool.url} to another")


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims and runs jobs until none are queued or running (or ``idle_timeout`` seconds pass idle)."""

    def __init__(
        self,
        pool: Pool,
        runner: JobRunner,
        name: str | None = None,
        heartbeat_interval: float | None = None,
        poll_interval: float = 0.5,
        idle_timeout: float = 0.0,
    ):
        self.pool, self.runner = pool, runner
        self.name = name or default_worker_name()
        self.heartbeat_interval = heartbeat_interval or pool.config.heartbeat_timeout / 4
        self.poll_interval, self.idle_timeout = poll_interval, idle_timeout
        self.completed: list[int] = []

    def run(self, max_jobs: int | None = None) -> int:
        idle_since = time.monotonic()
        while max_jobs is None or len(self.completed) < max_jobs:
            job = None
            try:
                with uninterrupted():  # a signal during the claim is raised once `job` holds what it claimed
                    job = self.pool.claim(self.name)
                if job is None:
                    counts = self.pool.count_jobs()
                    idle = time.monotonic() - idle_since
                    if not counts.get("queued") and not counts.get("running") and idle >= self.idle_timeout:
                        break
                    time.sleep(self.poll_interval)
                    continue
                self._run_one(job)
            except (*INTERRUPTS, SystemExit):
                # Ctrl-C, SIGTERM or an exit (a scheduler's requeue) at any point after the claim: the job
                # goes back to the queue, its attempt uncounted
                if job is not None:
                    with contextlib.suppress(LostLeaseError):  # already another worker's
                        self.pool.release(job, self.name)
                raise
            idle_since = time.monotonic()
        return len(self.completed)

    def _run_one(self, job: Job) -> None:
        log.info(
            "worker %s: job %d (candidate %d -> epoch %d, attempt %d)",
            self.name,
            job.id,
            job.candidate_id,
            job.to_epoch,
            job.attempts,
        )
        with JobLease(self.pool, job, self.name, self.heartbeat_interval) as lease:
            try:
                self.runner.run(job, lease)
                self.pool.complete(job, self.name)
                self.completed.append(job.id)
            except LostLeaseError as exc:
                log.warning("worker %s: %s; dropping it", self.name, exc)
            except NOT_RETRYABLE as exc:
                self._fail(job, f"{type(exc).__name__}: {exc}", retry=False)
            except Exception as exc:
                log.exception("worker %s: job %d raised", self.name, job.id)
                self._fail(job, f"{type(exc).__name__}: {exc}", retry=True)

    def _fail(self, job: Job, error: str, retry: bool) -> None:
        """Record the failed attempt; if the lease was lost meanwhile, the job is another worker's now."""
        try:
            self.pool.fail(job, self.name, error, retry=retry)
        except LostLeaseError as exc:
            log.warning("worker %s: job %d failed (%s) after its lease was lost: %s", self.name, job.id, error, exc)
