"""A worker process: claim a job, hold its lease with a heartbeat thread, run it, report, repeat.

Run one per GPU (``nas worker --pool URL --device cuda:1``), on any number of machines when the
pool is on PostgreSQL. A worker that dies stops heartbeating; after the pool's heartbeat timeout
another worker requeues and resumes its job from the last epoch checkpoint.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Protocol

from pools.pool import Job, LostLeaseError, Pool
from supernet.spaces import ArchitectureError
from supernet.training import TrainingDivergedError

log = logging.getLogger(__name__)

NOT_RETRYABLE = (TrainingDivergedError, ArchitectureError, ValueError)


class JobRunner(Protocol):
    def run(self, job: Job, lease: JobLease) -> None: ...


class JobLease:
    """Keeps ``worker``'s claim on ``job`` alive from a background thread."""

    def __init__(self, pool: Pool, job: Job, worker: str, interval: float):
        self.pool, self.job, self.worker, self.interval = pool, job, worker, interval
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-job-{job.id}", daemon=True)

    def __enter__(self) -> JobLease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.pool.heartbeat(self.job, self.worker)
            except LostLeaseError:
                self._lost.set()
                return
            except Exception as exc:  # a database hiccup: keep trying until the lease times out
                log.warning("heartbeat for job %d failed: %s", self.job.id, exc)

    def check(self) -> None:
        if self._lost.is_set():
            raise LostLeaseError(f"job {self.job.id} was taken away from worker {self.worker!r}")


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
            job = self.pool.claim(self.name)
            if job is None:
                counts = self.pool.count_jobs()
                idle = time.monotonic() - idle_since
                if not counts.get("queued") and not counts.get("running") and idle >= self.idle_timeout:
                    break
                time.sleep(self.poll_interval)
                continue
            self._run_one(job)
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
            except KeyboardInterrupt:
                self.pool.fail(job, self.name, "worker interrupted", retry=True)
                raise
            except NOT_RETRYABLE as exc:
                self.pool.fail(job, self.name, f"{type(exc).__name__}: {exc}", retry=False)
            except Exception as exc:
                log.exception("worker %s: job %d raised", self.name, job.id)
                self.pool.fail(job, self.name, f"{type(exc).__name__}: {exc}", retry=True)
