"""Pool workers and differentiable searches sent out through a job scheduler (issue 41).

``launcher="slurm"`` submits through submitit (Slurm job arrays, the user's partition, time, GPUs, CPUs,
memory, account and extra sbatch options); ``"local"`` is the same code path on this machine (submitit's
local executor: one subprocess per job); ``"ray"`` runs each job as a Ray task with the settings' CPUs and
GPUs on ``ray_address``'s cluster (optional extra ``[ray]``). A worker job runs
:class:`pools.worker.Worker` on the pool until no job is queued or running for ``idle_timeout`` seconds.
Scheduler events and what they do:

- time limit: Slurm signals the job ``signal_delay_s`` before it (USR2); submitit calls
  :meth:`PoolWorkerJob.checkpoint`, the candidate in flight goes back to the queue (it resumes from its
  last epoch checkpoint) and the job is requeued;
- ``scancel`` or preemption: SIGTERM; the worker hands its job's lease back and exits;
- a job killed without warning (node loss, SIGKILL): its lease runs out after the pool's heartbeat
  timeout and another worker retakes the job.

Job states come from ``squeue`` and the jobs' result files, never from ``sacct``: a cluster without job
accounting answers ``squeue`` too.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAUNCHERS = ("local", "slurm", "ray")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LaunchSettings:
    """Where and with what the jobs run (Slurm's names in brackets)."""

    launcher: str = "local"
    #: submitit's folder: the jobs' logs, pickled calls and results (on a file system every node sees)
    folder: str = "launch"
    partition: str | None = None  # --partition
    time_min: int = 60  # --time, minutes
    gpus: int = 0  # --gpus-per-node of each job
    cpus: int = 1  # --cpus-per-task
    mem_gb: float | None = None  # --mem
    account: str | None = None  # --account
    #: any other sbatch option, e.g. {"qos": "high", "constraint": "a100"}
    sbatch: dict[str, Any] = field(default_factory=dict)
    #: seconds before the time limit that Slurm signals a job to requeue itself
    signal_delay_s: int = 60
    #: Ray: the cluster to join (``ray.init(address=...)``: "auto", "ray://head:10001"); None starts a local
    #: one unless this process is already connected
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"launcher must be one of {list(LAUNCHERS)}, got {self.launcher!r}")
        if self.time_min < 1 or self.cpus < 1 or self.gpus < 0:
            raise ValueError(
                f"time_min and cpus must be >= 1 and gpus >= 0, got {self.time_min}, {self.cpus}, {self.gpus}"
            )

    def executor(self, name: str) -> Any:
        import submitit

        # the cluster is named: submitit's AutoExecutor would pick Slurm whenever srun is on PATH
        executor = submitit.AutoExecutor(self.folder, cluster="slurm" if self.launcher == "slurm" else "local")
        params: dict[str, Any] = {"name": name, "timeout_min": self.time_min, "cpus_per_task": self.cpus}
        if self.gpus:
            params["gpus_per_node"] = self.gpus
        if self.launcher == "slurm":
            if self.mem_gb is not None:
                params["mem_gb"] = self.mem_gb
            params.update(
                slurm_partition=self.partition,
                slurm_account=self.account,
                slurm_signal_delay_s=self.signal_delay_s,
                slurm_additional_parameters=dict(self.sbatch),
            )
        executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
        return executor


class Requeueable:
    """What ``submitit.helpers.Checkpointable`` gives (``checkpoint`` resubmits the same callable, which submitit
    requeues on Slurm's time-limit signal), with submitit imported only when a job is checkpointed: this module
    is imported by every ``nas`` command."""

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, *args, **kwargs)


class PoolWorkerJob(Requeueable):
    """One pool worker as a scheduler job (submitit pickles it to the node): trains the pool's queued jobs
    until none is queued or running for ``idle_timeout`` seconds; returns the number it completed.

    Requeued as it is on Slurm's time-limit signal (its state is the pool's); SIGTERM (``scancel``,
    preemption) hands the job in flight back to the queue."""

    def __init__(
        self,
        url: str,
        device: str = "auto",
        data_root: str | None = None,
        idle_timeout: float = 120.0,
        plugins: Sequence[str] = (),
        spaces: Sequence[str] = (),
        wait_for_pool: float = 300.0,
    ):
        self.url, self.device, self.data_root, self.idle_timeout = url, device, data_root, idle_timeout
        self.wait_for_pool = wait_for_pool
        self.plugins, self.spaces = tuple(plugins), tuple(spaces)

    def __call__(self, index: int = 0) -> int:
        from nas_core.plugins import apply
        from pools import Pool
        from pools.interrupts import interrupt_on_signals
        from pools.runner import TrainingRunner
        from pools.worker import Worker, default_worker_name

        apply(self.plugins, self.spaces)  # a user's ops and declared spaces, as in the launching process
        interrupt_on_signals()  # (after submitit's handlers: SIGTERM now releases the job in flight)
        pool = Pool.open_when_ready(self.url, self.wait_for_pool)
        name = f"{_job_id() or f'job{index}'}/{default_worker_name()}"
        worker = Worker(
            pool, TrainingRunner(pool, self.device, self.data_root), name=name, idle_timeout=self.idle_timeout
        )
        return worker.run()


def _job_id() -> str | None:
    import os

    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID")


@dataclass
class LaunchedJobs:
    """Jobs sent out by one call: their ids, which are still queued or running, their results."""

    jobs: list[Any]
    launcher: str

    @property
    def ids(self) -> list[str]:
        return [str(job.job_id) for job in self.jobs]

    def active(self) -> list[str]:
        """Ids of the jobs still queued or running (``squeue`` on Slurm; never ``sacct``)."""
        if self.launcher != "slurm":
            return [str(job.job_id) for job in self.jobs if not job.done()]
        # -r: one line per array task (pending tasks would show as one "12_[0-2]" line)
        out = subprocess.run(
            ["squeue", "-h", "-r", "-o", "%i", "-j", ",".join(self.ids)], capture_output=True, text=True, check=False
        )
        if out.returncode and "Invalid job id" not in out.stderr:
            return self.ids  # the controller did not answer: assume every job is still there
        queued = set(out.stdout.split())
        return [i for i in self.ids if i in queued]

    def cancel(self) -> None:
        for job in self.jobs:
            job.cancel(check=False)

    def wait(self, timeout: float | None = None, poll: float = 1.0) -> list[Any]:
        """Every job's return value, in order; a job that failed raises its error, one that left the queue
        without a result (killed) raises RuntimeError naming it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pending = [job for job in self.jobs if not job.paths.result_pickle.exists()]
            if not pending:
                return [job.result() for job in self.jobs]
            gone = set(self.ids) - set(self.active())
            left = [job for job in pending if str(job.job_id) in gone]
            if left:
                time.sleep(poll)  # a result file written as the job left the queue
                lost = [str(job.job_id) for job in left if not job.paths.result_pickle.exists()]
                if lost:
                    raise RuntimeError(
                        f"job(s) {lost} left the queue without a result (killed?); logs in {self.jobs[0].paths.folder}"
                    )
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job(s) {[str(j.job_id) for j in pending]} still running after {timeout} s")
            time.sleep(poll)


@dataclass
class RayJobs:
    """The same surface as :class:`LaunchedJobs` for Ray tasks."""

    refs: list[Any]
    launcher: str = "ray"

    @property
    def ids(self) -> list[str]:
        return [ref.hex() for ref in self.refs]

    def active(self) -> list[str]:
        import ray

        _, running = ray.wait(self.refs, num_returns=len(self.refs), timeout=0)
        return [ref.hex() for ref in running]

    def cancel(self) -> None:
        import ray

        for ref in self.refs:  # not forced: the task gets a KeyboardInterrupt and hands its lease back
            ray.cancel(ref)

    def wait(self, timeout: float | None = None) -> list[Any]:
        import ray
        from ray.exceptions import GetTimeoutError

        try:
            return ray.get(self.refs, timeout=timeout)
        except GetTimeoutError:
            raise TimeoutError(f"Ray task(s) {self.active()} still running after {timeout} s") from None


def _call(function: Callable[[Any], Any], item: Any) -> Any:
    return function(item)


def _ray_map(function: Callable[[Any], Any], items: Sequence[Any], settings: LaunchSettings) -> RayJobs:
    """``function(item)`` for every item as a Ray task with the settings' CPUs and GPUs."""
    try:
        import ray
    except ImportError:
        raise ValueError("the Ray launcher needs Ray: pip install 'nas-suite[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=settings.ray_address, include_dashboard=False)
    task = ray.remote(num_cpus=settings.cpus, num_gpus=settings.gpus)(_call)
    return RayJobs([task.remote(function, item) for item in items])


def map_jobs(
    function: Callable[[Any], Any], items: Sequence[Any], settings: LaunchSettings, name: str
) -> LaunchedJobs | RayJobs:
    """``function(item)`` for every item as one job array (Slurm, local) or as Ray tasks."""
    if settings.launcher == "ray":
        return _ray_map(function, list(items), settings)
    executor = settings.executor(name)
    return LaunchedJobs(list(executor.map_array(function, list(items))), settings.launcher)


def launch_workers(url: str, count: int, settings: LaunchSettings, **worker: Any) -> LaunchedJobs | RayJobs:
    """``count`` pool workers on ``url`` as one job array; ``worker``: :class:`PoolWorkerJob`'s options."""
    if count < 1:
        raise ValueError(f"launch at least one worker, got count={count}")
    return map_jobs(PoolWorkerJob(url, **worker), range(count), settings, "nas-worker")


@dataclass(frozen=True)
class WorkerFleet:
    """``count`` pool workers sent out with ``settings`` while a search runs -- what ``nas rank-nosh``,
    ``nas pipeline`` and ``nas hybrid`` do with ``--launcher``; ``worker``: :class:`PoolWorkerJob`'s
    options (device, data_root, idle_timeout, plugins, spaces). The search's training must then leave its
    jobs to them (``CandidateTraining(external_workers=True)``)."""

    settings: LaunchSettings
    count: int = 2
    worker: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a fleet needs at least one worker, got count={self.count}")

    @contextmanager
    def serving(self, url: str) -> Iterator[LaunchedJobs | RayJobs]:
        """The workers on pool ``url`` while the block runs; cancelled when it ends (the search is over
        or stopped), so none waits out its idle timeout."""
        jobs = launch_workers(url, self.count, self.settings, **self.worker)
        log.info("%d worker job(s) sent out with %s: %s", self.count, self.settings.launcher, ", ".join(jobs.ids))
        try:
            yield jobs
        finally:
            jobs.cancel()


def serving(fleet: WorkerFleet | None, url: str) -> AbstractContextManager:
    """``fleet``'s workers on pool ``url`` while the block runs (:meth:`WorkerFleet.serving`); nothing
    without a fleet (the search's own in-process worker trains)."""
    return fleet.serving(url) if fleet else nullcontext()


class SearchJob(Requeueable):
    """One differentiable search of a seed (:func:`supernet.differentiable_search`), run in ``run_dir/seed<N>``
    (a requeued search resumes there); returns its result as a dict, also written to its result.json.
    ``method``: a method's name with ``search`` settings, or a whole ``DiffSearchConfig`` (its seed replaced)."""

    def __init__(
        self, method: Any, run_dir: str, plugins: Sequence[str] = (), spaces: Sequence[str] = (), **search: Any
    ):
        self.method, self.run_dir, self.search = method, run_dir, search
        self.plugins, self.spaces = tuple(plugins), tuple(spaces)

    def __call__(self, seed: int) -> dict[str, Any]:
        from dataclasses import replace

        from nas_core.plugins import apply
        from supernet import differentiable_search

        apply(self.plugins, self.spaces)
        run_dir = Path(self.run_dir) / f"seed{seed}"
        if isinstance(self.method, str):
            run = differentiable_search(self.method, seed=seed, run_dir=run_dir, **self.search)
        else:
            run = differentiable_search(replace(self.method, seed=seed), run_dir=run_dir)
        data = {"seed": seed, **run.result.to_dict()}
        (run_dir / "result.json").write_text(json.dumps(data, indent=1))
        return data


def launch_searches(
    method: Any,
    seeds: Sequence[int],
    settings: LaunchSettings,
    run_dir: str | Path,
    timeout: float | None = None,
    **search: Any,
) -> dict[str, Any]:
    """A differentiable search per seed as one job array, collected into one result: every seed's run
    (``runs``), the job ids, and how often each architecture was found. ``method``: a method's name with
    ``search``, :func:`supernet.differentiable_search`'s settings (``preset``, ``dataset``, ``epochs``, ...),
    or a ``DiffSearchConfig`` (``search`` then only ``plugins``/``spaces``)."""
    if not seeds:
        raise ValueError("launch_searches needs at least one seed")
    name = method if isinstance(method, str) else method.method
    jobs = map_jobs(SearchJob(method, str(run_dir), **search), list(seeds), settings, f"nas-{name}")
    runs = jobs.wait(timeout)
    found: dict[str, int] = {}
    for run in runs:
        found[run["genotype"]] = found.get(run["genotype"], 0) + 1
    return {"method": name, "seeds": list(seeds), "jobs": jobs.ids, "runs": runs, "found": found}
