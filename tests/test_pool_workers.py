"""Pool reliability with real worker processes (bounded in time)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import torch
from conftest import ROOT

from nas_cli import main
from pools import Pool, PoolConfig, PoolError
from pools.runner import TrainingRunner
from pools.worker import Worker

JOB_LINE = re.compile(r"worker (\S+): job (\d+) \(candidate (\d+) -> epoch (\d+), attempt (\d+)\)")


def tiny_config(**overrides) -> PoolConfig:
    config = dict(
        space="nb201",
        dataset="digits",
        network={"C": 4, "N": 1},
        valid_fraction=0.25,
        train={"epochs": 8, "batch_size": 128, "lr": 0.05, "crop_padding": 1, "flip": False},
    )
    config.update(overrides)
    return PoolConfig(**config)


def spawn_worker(url: str, name: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "nas_cli", "worker", "--pool", url, "--name", name, "--device", "cpu", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_workers(url: str, n: int, timeout: float = 240) -> list[str]:
    procs = [spawn_worker(url, f"w{i}", "--heartbeat-interval", "0.5") for i in range(n)]
    outputs = []
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        assert p.returncode == 0, out[-2000:]
        outputs.append(out)
    return outputs


def fill_pool(url: str, n_jobs: int, **overrides) -> Pool:
    pool = Pool.create(url, tiny_config(**overrides))
    rng = random.Random(0)
    archs = []
    while len(archs) < n_jobs:
        arch = pool.space.sample(rng)
        if pool.find(arch) is None and all(
            pool.space.canonical_hash(arch) != pool.space.canonical_hash(a) for a in archs
        ):
            archs.append(arch)
    for cid, created in pool.add_candidates(archs):
        assert created
        pool.enqueue(cid, 1)
    return pool


def check_every_job_done_exactly_once(pool: Pool, outputs: list[str], n_jobs: int) -> None:
    runs = Counter(int(m.group(2)) for out in outputs for m in JOB_LINE.finditer(out))
    jobs = pool.jobs()
    assert len(jobs) == n_jobs
    assert all(j.state == "done" and j.attempts == 1 for j in jobs), [(j.id, j.state, j.attempts) for j in jobs]
    assert sorted(runs) == [j.id for j in jobs] and set(runs.values()) == {1}  # each run by exactly one worker
    metrics = pool.metrics()
    assert all(len(metrics[c.id]) == 1 and c.epochs_trained == 1 for c in pool.candidates())  # no lost metric
    assert len({j.worker for j in jobs}) > 1  # the work really was shared


def test_four_workers_forty_jobs_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/pool.db"
    pool = fill_pool(url, 40)
    check_every_job_done_exactly_once(pool, run_workers(url, 4), 40)


def test_one_command_with_processes_shares_the_jobs_among_its_workers(tmp_path):
    url = f"sqlite:///{tmp_path}/pool.db"
    pool = fill_pool(url, 12)
    proc = spawn_worker(url, "gpu0", "--processes", "3", "--heartbeat-interval", "0.5")
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out[-2000:]
    check_every_job_done_exactly_once(pool, [out], 12)
    assert {j.worker for j in pool.jobs()} <= {"gpu0/0", "gpu0/1", "gpu0/2"}


def test_processes_below_one_is_a_clear_error(tmp_path):
    proc = spawn_worker(f"sqlite:///{tmp_path}/pool.db", "w", "--processes", "0")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "--processes must be at least 1, got 0" in out


def test_four_workers_forty_jobs_postgresql(postgres_url, tmp_path):
    pool = fill_pool(postgres_url, 40, checkpoint_store=str(tmp_path / "ckpt"))
    check_every_job_done_exactly_once(pool, run_workers(postgres_url, 4), 40)


def final_weights(pool: Pool, candidate_id: int) -> dict[str, torch.Tensor]:
    _epoch, key = pool.checkpoints(candidate_id)[0]
    return pool.store.load(key)["model"]


def test_killed_worker_job_is_retried_and_equals_an_uninterrupted_run(tmp_path):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    config = dict(network={"C": 8, "N": 1}, heartbeat_timeout=2.0)

    # the reference runs in a worker process too: same threads, same floating-point reduction order
    reference = Pool.create(f"sqlite:///{tmp_path}/ref.db", tiny_config(**config))
    ref_id, _ = reference.add_candidate(arch)
    reference.enqueue(ref_id, 8)
    run_workers(f"sqlite:///{tmp_path}/ref.db", 1)

    url = f"sqlite:///{tmp_path}/killed.db"
    pool = Pool.create(url, tiny_config(**config))
    cid, _ = pool.add_candidate(arch)
    pool.enqueue(cid, 8)
    victim = spawn_worker(url, "victim", "--heartbeat-interval", "0.2")
    deadline = time.monotonic() + 120
    while pool.candidate(cid).epochs_trained < 3:
        assert victim.poll() is None and time.monotonic() < deadline, victim.stdout.read() if victim.poll() else ""
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = pool.candidate(cid).epochs_trained
    assert 3 <= killed_at < 8 and pool.jobs()[0].state == "running"

    (out,) = run_workers(url, 1)
    job = pool.jobs()[0]
    assert job.state == "done" and job.attempts == 2 and job.worker == "w0"
    resumed = [int(m.group(5)) for m in JOB_LINE.finditer(out)]
    assert resumed == [2]
    ours, ref = final_weights(pool, cid), final_weights(reference, ref_id)
    assert all(torch.equal(ours[k], ref[k]) for k in ref)
    assert [r.valid_acc for r in pool.metrics(cid)[cid]] == [r.valid_acc for r in reference.metrics(ref_id)[ref_id]]


@pytest.mark.parametrize("damage", ["truncated", "wrong_shape"])
def test_an_unusable_checkpoint_falls_back_to_the_last_good_one(tmp_path, caplog, damage):
    arch = "|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    other = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    pools = {}
    for name in ("clean", "damaged"):
        pool = Pool.create(f"sqlite:///{tmp_path}/{name}.db", tiny_config())
        cid, _ = pool.add_candidate(arch)
        pool.enqueue(cid, 3)
        worker = Worker(pool, TrainingRunner(pool, "cpu"))
        worker.run()
        if name == "damaged":
            _, key = pool.checkpoints(cid)[0]
            path = pool.store.root / key
            if damage == "truncated":  # the newest checkpoint gets cut in half
                path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
            else:  # readable, but another network's weights (shapes differ)
                runner = TrainingRunner(pool, "cpu")
                oid, _ = pool.add_candidate(other)
                state = runner.trainer(pool.candidate(cid)).state_dict()
                state["model"] = runner.trainer(pool.candidate(oid)).model.state_dict()
                pool.store.save(key, state)
        pool.enqueue(cid, 5)
        with caplog.at_level("WARNING"):
            worker.run()
        pools[name] = (pool, cid)
    assert "unusable" in caplog.text and "resuming from epoch 2 instead of 3" in caplog.text
    (a, ia), (b, ib) = pools["clean"], pools["damaged"]
    wa, wb = final_weights(a, ia), final_weights(b, ib)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert b.candidate(ib).epochs_trained == 5 and len(b.metrics(ib)[ib]) == 5


def test_unwritable_checkpoint_store_fails_the_job_and_keeps_the_pool(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    pool = Pool.create(
        f"sqlite:///{tmp_path}/p.db", tiny_config(checkpoint_store=str(blocker / "ckpt"), max_attempts=2)
    )
    cid, _ = pool.add_candidate("|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    pool.enqueue(cid, 1)
    Worker(pool, TrainingRunner(pool, "cpu")).run()
    (job,) = pool.jobs()
    assert job.state == "failed" and job.attempts == 2 and "not writable" in job.error
    assert pool.candidate(cid).status == "failed" and pool.candidates()[0].arch.startswith("|nor_conv_1x1")
    with pytest.raises(PoolError, match="retry-failed"):
        pool.enqueue(cid, 1)
    # the fault is fixed (the folder can be made): `nas pool retry-failed` makes the candidate trainable again
    blocker.unlink()
    assert main(["pool", "retry-failed", pool.url]) == 0
    assert pool.candidate(cid).status == "idle" and pool.candidate(cid).error is None
    pool.enqueue(cid, 1)
    Worker(pool, TrainingRunner(pool, "cpu")).run()
    assert pool.candidate(cid).epochs_trained == 1 and [j.state for j in pool.jobs()] == ["failed", "done"]


@pytest.mark.parametrize("n", [2])
def test_worker_cli_exits_when_nothing_is_left(tmp_path, n):
    url = f"sqlite:///{tmp_path}/pool.db"
    Pool.create(url, tiny_config())
    outputs = run_workers(url, n, timeout=60)
    assert all("finished 0 job(s)" in out for out in outputs)


def test_a_job_that_raises_after_losing_its_lease_does_not_kill_the_worker(tmp_path, caplog):
    pool = Pool.create(f"sqlite:///{tmp_path}/pool.db", tiny_config(heartbeat_timeout=0.3))
    first, _ = pool.add_candidate(pool.space.from_index(1))
    second, _ = pool.add_candidate(pool.space.from_index(2))
    pool.enqueue(first, 1)
    pool.enqueue(second, 1)

    class StealsThenRaises:
        """The first job's lease goes to another worker while it runs; then it raises."""

        def __init__(self):
            self.ran = []

        def run(self, job, lease):
            self.ran.append(job.candidate_id)
            if job.candidate_id == first:
                time.sleep(0.6)  # no heartbeat arrives in time (interval below): the job is stale
                assert pool.claim("thief").candidate_id == first
                raise RuntimeError("CUDA error after the lease was lost")

    runner = StealsThenRaises()
    with caplog.at_level("WARNING"):
        Worker(pool, runner, name="w", heartbeat_interval=30).run(max_jobs=1)
    assert runner.ran == [first, second]  # the worker survived and took the next job
    assert "after its lease was lost" in caplog.text
    job = next(j for j in pool.jobs() if j.candidate_id == first)
    assert job.state == "running" and job.worker == "thief"  # the thief's claim is untouched


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_workers_release_their_job_without_counting_the_attempt(tmp_path, sig):
    url = f"sqlite:///{tmp_path}/pool.db"
    pool = Pool.create(url, tiny_config(network={"C": 8, "N": 1}, max_attempts=2))
    cid, _ = pool.add_candidate(pool.space.from_index(7))
    pool.enqueue(cid, 8)
    for round_ in range(3):  # more interrupts than max_attempts: the candidate must not fail for them
        worker = spawn_worker(url, f"w{round_}", "--heartbeat-interval", "0.2")
        deadline = time.monotonic() + 120
        while pool.jobs()[0].state != "running" or pool.jobs()[0].worker != f"w{round_}":
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        worker.send_signal(sig)
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 130, out[-2000:]
        assert "Traceback" not in out and "interrupted" in out.splitlines()[-1]
        (job,) = pool.jobs()
        assert job.state == "queued" and job.attempts == 0 and job.worker is None
        assert pool.candidate(cid).status == "queued"


def test_sigterm_to_a_processes_parent_alone_stops_its_children(tmp_path):
    """`kill PID` of `nas worker --processes 2` (not its process group): the parent passes the signal
    on, both children requeue their running jobs, and the command exits (it once waited for ever)."""
    url = f"sqlite:///{tmp_path}/pool.db"
    train = {"epochs": 400, "batch_size": 128, "lr": 0.05, "crop_padding": 1, "flip": False}
    pool = Pool.create(url, tiny_config(network={"C": 8, "N": 1}, train=train))  # jobs outlast the grace
    for cid, _ in pool.add_candidates([pool.space.from_index(7), pool.space.from_index(8)]):
        pool.enqueue(cid, 400)
    parent = spawn_worker(url, "w", "--processes", "2", "--heartbeat-interval", "0.2")
    deadline = time.monotonic() + 120
    while sum(j.state == "running" for j in pool.jobs()) < 2:
        assert parent.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    parent.send_signal(signal.SIGTERM)  # to the parent only: the children receive nothing from the shell
    out, _ = parent.communicate(timeout=120)
    assert parent.returncode == 130, out[-2000:]
    assert out.count("interrupted; its job went back to the queue") == 2, out[-2000:]
    assert all(j.state == "queued" and j.attempts == 0 and j.worker is None for j in pool.jobs())


def test_a_signal_inside_a_pool_transaction_interrupts_after_it_commits(tmp_path):
    """An interrupt never cuts a transaction in half: the write commits, the SQLite write lock is free
    (a requeue after it does not wait on it), and only then is Interrupted raised."""
    import sqlite3

    import sqlalchemy as sa

    import pools.schema as S
    from pools.interrupts import Interrupted, interrupt_on_signals, restore_signals

    pool = Pool.create(f"sqlite:///{tmp_path}/pool.db", tiny_config())
    cid, _ = pool.add_candidate(pool.space.from_index(7))
    previous = interrupt_on_signals()
    reached = False
    try:
        with pytest.raises(Interrupted, match="SIGTERM"), pool._write() as conn:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, before the next statement
            conn.execute(sa.update(S.candidates).values(error="written"))
            reached = True
    finally:
        restore_signals(previous)
    assert reached and pool.candidate(cid).error == "written"
    other = sqlite3.connect(tmp_path / "pool.db", timeout=0.5)
    other.execute("BEGIN IMMEDIATE")  # sqlite3.OperationalError "database is locked" if the lock leaked
    other.rollback()


def test_a_missing_warm_start_file_says_so(tmp_path):
    from nas_core.training import CheckpointError

    pool = Pool.create(f"sqlite:///{tmp_path}/p.db", tiny_config())
    cid, _ = pool.add_candidate(pool.space.from_index(5), lineage="darts", info={"init": "init_gone.pt"})
    with pytest.raises(
        CheckpointError, match=r"warm-start weights are unreadable: checkpoint .*init_gone\.pt does not exist"
    ):
        TrainingRunner(pool, "cpu").trainer(pool.candidate(cid))
