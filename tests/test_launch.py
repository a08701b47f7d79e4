"""Pool workers and differentiable searches sent out as jobs (issue 41): submitit's local executor, and a
real single-node Slurm cluster where one answers (``.ci/slurm_up.sh`` starts it as root; CI requires it:
NAS_REQUIRE_SLURM=1 turns the skip into a failure)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
from test_pool_workers import fill_pool, tiny_config

from pools import Pool, PoolError
from predictor_nas.launch import LaunchedJobs, LaunchSettings, launch_searches, launch_workers, map_jobs


@pytest.fixture(scope="module")
def slurm() -> None:
    """A Slurm cluster that answers ``sinfo`` (SLURM_CONF names it); skips, saying what is missing."""
    reason = None
    if shutil.which("sbatch") is None:
        reason = "sbatch is not installed (Debian: slurmctld slurmd slurm-client munge)"
    else:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30, check=False)
        if out.returncode or not any(s in out.stdout for s in ("idle", "mixed", "allocated")):
            reason = f"no Slurm node is up (sinfo: {(out.stderr or out.stdout).strip()[:200]}); start .ci/slurm_up.sh"
    if reason:
        if os.environ.get("NAS_REQUIRE_SLURM") == "1":
            pytest.fail(f"Slurm is required here (NAS_REQUIRE_SLURM=1) but {reason}")
        pytest.skip(reason)


def wait_until(condition, timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


def check_ledger(pool: Pool, epochs: int) -> None:
    """Every candidate trained to ``epochs`` once: one metric record per epoch, none twice, none missing."""
    metrics = pool.metrics()
    for c in pool.candidates():
        assert c.epochs_trained == epochs, (c.id, c.epochs_trained)
        assert sorted(r.epoch for r in metrics[c.id]) == list(range(1, epochs + 1)), c.id
    assert all(j.state == "done" for j in pool.jobs()), [(j.id, j.state) for j in pool.jobs()]


def test_launch_settings_name_a_bad_value():
    with pytest.raises(ValueError, match=re.escape("launcher must be one of ['local', 'slurm', 'ray'], got 'pbs'")):
        LaunchSettings("pbs")
    with pytest.raises(ValueError, match="time_min and cpus must be >= 1"):
        LaunchSettings("slurm", time_min=0)
    with pytest.raises(ValueError, match="at least one worker"):
        launch_workers("sqlite:///x.db", 0, LaunchSettings())


def test_a_worker_waits_for_a_pool_that_is_not_there_yet_and_then_says_so(tmp_path):
    url = f"sqlite:///{tmp_path}/later.db"
    start = time.monotonic()
    with pytest.raises(PoolError, match=r"no pool answered at .* within 0\.3 s"):
        Pool.open_when_ready(url, 0.3, poll_s=0.1)
    assert time.monotonic() - start < 5
    Pool.create(url, tiny_config())
    assert Pool.open_when_ready(url, 0.3, poll_s=0.1).config.space == "nb201"


def test_local_launcher_workers_train_every_job_once(tmp_path):
    url = f"sqlite:///{tmp_path}/pool.db"
    pool = fill_pool(url, 6)
    jobs = launch_workers(
        url, 2, LaunchSettings("local", folder=str(tmp_path / "launch")), device="cpu", idle_timeout=0
    )
    done = jobs.wait(timeout=300)
    assert sum(done) == 6 and jobs.active() == []
    check_ledger(pool, 1)
    assert len({j.worker for j in pool.jobs()}) >= 1


def test_slurm_workers_survive_scancel_and_a_requeue_and_train_each_epoch_once(tmp_path, slurm):
    """Two workers as a Slurm job array: one is cancelled mid-candidate (SIGTERM: its job goes back to the
    queue), the other is signalled as at its time limit (USR2: submitit requeues it and it goes on)."""
    url = f"sqlite:///{tmp_path}/pool.db"
    train = {"epochs": 6, "batch_size": 128, "lr": 0.05, "crop_padding": 1, "flip": False}
    pool = Pool.create(url, tiny_config(network={"C": 8, "N": 1}, train=train, heartbeat_timeout=10.0))
    for cid, _ in pool.add_candidates([pool.space.from_index(i) for i in (7, 8, 9, 10)]):
        pool.enqueue(cid, 6)
    settings = LaunchSettings("slurm", folder=str(tmp_path / "launch"), time_min=20, cpus=1)
    jobs = launch_workers(url, 2, settings, device="cpu", idle_timeout=5)
    assert len(jobs.ids) == 2 and jobs.ids[0].split("_")[0] == jobs.ids[1].split("_")[0]  # one array

    def running_by() -> dict[str, int]:
        return {j.worker.split("/")[0]: j.candidate_id for j in pool.jobs() if j.state == "running"}

    wait_until(lambda: len(running_by()) == 2, 180, "both workers to hold a job")
    victim, requeued = jobs.ids
    wait_until(lambda: any(c.epochs_trained >= 1 for c in pool.candidates()), 120, "a first epoch")
    subprocess.run(["scancel", victim], check=True)
    wait_until(lambda: victim not in running_by(), 60, "the cancelled worker to let go of its job")
    subprocess.run(["scancel", "--signal=USR2", requeued], check=True)
    wait_until(lambda: _state(requeued) == "PD", 60, "the requeue")
    # Slurm holds a requeued job back for a while (BeginTime); a test need not wait that out
    subprocess.run(["scontrol", "update", f"JobId={requeued}", "StartTime=now"], check=False)
    wait_until(lambda: all(j.state == "done" for j in pool.jobs()), 300, "every job to finish", poll=0.5)
    check_ledger(pool, 6)
    wait_until(lambda: jobs.active() == [], 60, "the worker jobs to end")
    logs = (tmp_path / "launch").glob(f"{requeued}_0_log.err")
    assert any("this job is preempted" in path.read_text() for path in logs)  # submitit's USR2 handler ran


def _state(job_id: str) -> str:
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%t", "-j", job_id], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def test_a_three_seed_drnas_search_goes_out_as_one_slurm_array_and_comes_back_as_one_result(tmp_path, slurm):
    settings = LaunchSettings("slurm", folder=str(tmp_path / "launch"), time_min=20, cpus=1)
    result = launch_searches(
        "drnas",
        [0, 1, 2],
        settings,
        tmp_path / "runs",
        timeout=600,
        preset="quick",
        dataset="digits",
        epochs=1,
        max_train=128,
        method_options={"stages": None},
    )
    assert result["seeds"] == [0, 1, 2] and [r["seed"] for r in result["runs"]] == [0, 1, 2]
    assert len({job.split("_")[0] for job in result["jobs"]}) == 1  # one job array
    assert sum(result["found"].values()) == 3
    assert all((tmp_path / "runs" / f"seed{s}").is_dir() for s in (0, 1, 2))


def test_a_job_that_leaves_the_queue_without_a_result_is_named(tmp_path, slurm):
    def sleep_long(seconds: float) -> float:
        import time

        time.sleep(seconds)
        return seconds

    jobs = LaunchedJobs(
        list(LaunchSettings("slurm", folder=str(tmp_path / "launch")).executor("sleeper").map_array(sleep_long, [600])),
        "slurm",
    )
    wait_until(lambda: _state(jobs.ids[0]) == "R", 60, "the job to run")
    subprocess.run(["scancel", "--signal=KILL", jobs.ids[0]], check=True)
    with pytest.raises(RuntimeError, match=f"job\\(s\\) \\['{jobs.ids[0]}'\\] left the queue without a result"):
        jobs.wait(timeout=120)


def cli_search(out, launcher: str, *extra: str) -> dict:
    """``nas rank-nosh --launcher LAUNCHER --workers 2``: a tiny real-training search whose jobs run in
    two worker jobs; returns its JSON summary."""
    import json
    import sys

    argv = ["rank-nosh", "--dataset", "digits", "--channels", "4", "--cells-per-stage", "1", "--max-train", "300"]
    argv += ["--budgets", "1,2", "--k", "2", "--initial", "3", "--level0-samples", "6", "--budget-epochs", "12"]
    argv += ["--proxies", "none", "--seed", "3", "--device", "cpu", "--out", str(out), "--json"]
    argv += ["--launcher", launcher, "--workers", "2", "--worker-idle-timeout", "30", "--time-min", "20", *extra]
    done = subprocess.run([sys.executable, "-m", "nas_cli", *argv], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def local_search(tmp_path_factory) -> dict:
    """The reference: the same search with ``--launcher local`` (run once for this module)."""
    return cli_search(tmp_path_factory.mktemp("local"), "local")


def test_rank_nosh_through_slurm_worker_jobs_picks_the_cell_a_local_launch_picks(tmp_path, slurm, local_search):
    on_slurm = cli_search(tmp_path / "slurm", "slurm")
    local = local_search
    assert on_slurm["best_arch"] == local["best_arch"]
    assert on_slurm["validation_accuracy"] == local["validation_accuracy"]
    pool = Pool.open(on_slurm["pool"])
    workers = {j.worker.split("/")[0] for j in pool.jobs()}
    assert len(workers) >= 1 and all("_" in w for w in workers)  # Slurm array tasks trained them
    assert all(j.state == "done" for j in pool.jobs())


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster bound to 127.0.0.1 with one fake GPU (placement is checked, not CUDA); shut down
    after the module (never `ray stop`: it would end every Ray process of the machine)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'nas-suite[ray]')")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    context = ray.init(
        num_cpus=2, num_gpus=1, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False
    )
    yield context.address_info["address"]  # what another process joins (`--ray-address`)
    ray.shutdown()


def test_ray_tasks_get_the_gpus_they_ask_for(ray_cluster, tmp_path):
    def gpu_ids(_: int) -> list:
        import ray

        return ray.get_gpu_ids()

    jobs = map_jobs(gpu_ids, [0, 1], LaunchSettings("ray", gpus=1), "gpus")
    assert jobs.wait(timeout=120) == [[0], [0]]  # one fake GPU: each task held it, one after the other
    assert jobs.active() == []


def test_ray_workers_train_every_job_once(ray_cluster, tmp_path):
    url = f"sqlite:///{tmp_path}/pool.db"
    pool = fill_pool(url, 6)
    jobs = launch_workers(url, 2, LaunchSettings("ray"), device="cpu", idle_timeout=0)
    assert sum(jobs.wait(timeout=300)) == 6
    check_ledger(pool, 1)
    names = {j.worker.split("/")[0] for j in pool.jobs()}
    assert names <= {"job0", "job1"}


def test_a_cancelled_ray_worker_hands_its_job_back(ray_cluster, tmp_path):
    url = f"sqlite:///{tmp_path}/pool.db"
    train = {"epochs": 400, "batch_size": 128, "lr": 0.05, "crop_padding": 1, "flip": False}
    pool = Pool.create(url, tiny_config(network={"C": 8, "N": 1}, train=train))  # a job that outlasts the test
    cid, _ = pool.add_candidate(pool.space.from_index(7))
    pool.enqueue(cid, 400)
    jobs = launch_workers(url, 1, LaunchSettings("ray"), device="cpu", idle_timeout=0)
    wait_until(lambda: pool.jobs()[0].state == "running", 120, "the worker to claim the job")
    jobs.cancel()
    wait_until(lambda: pool.jobs()[0].state == "queued", 60, "the job to go back to the queue")
    (job,) = pool.jobs()
    assert job.attempts == 0 and job.worker is None
    wait_until(lambda: jobs.active() == [], 60, "the task to end")


def test_rank_nosh_through_ray_workers_picks_the_cell_a_local_launch_picks(tmp_path, ray_cluster, local_search):
    on_ray = cli_search(tmp_path / "ray", "ray", "--ray-address", ray_cluster)  # joins the test's cluster
    assert on_ray["best_arch"] == local_search["best_arch"]
    assert on_ray["validation_accuracy"] == local_search["validation_accuracy"]


def test_nas_diff_sends_one_search_per_seed_out_and_collects_them(tmp_path, capsys):
    import json

    from nas_cli import main

    out = tmp_path / "diff"
    argv = ["diff", "--method", "drnas", "--dataset", "digits", "--epochs", "1", "--max-train", "128"]
    argv += ["--method-option", "stages=None", "--out", str(out), "--quiet", "--launcher", "local", "--seeds", "4,5"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seeds"] == [4, 5] and sum(summary["found"].values()) == 2
    runs = json.loads((out / "seeds.json").read_text())["runs"]
    assert [r["seed"] for r in runs] == [4, 5] and all((out / f"seed{s}" / "result.json").exists() for s in (4, 5))
    assert main(["diff", "--dataset", "digits", "--seeds", "1,2", "--out", str(tmp_path / "x")]) == 2
    assert "give --launcher" in capsys.readouterr().err


def test_the_pipelines_searches_train_in_launched_workers_and_pick_the_in_process_cell(tmp_path):
    """``run_pipeline(workers=WorkerFleet(...))``: both searches' candidates are trained by the worker jobs
    (none in the driver), the workers are cancelled when each search ends, and the search picks the cell the
    same pipeline picks with its in-process worker."""
    from dataclasses import replace

    from test_pipeline import tiny_config as tiny_pipeline

    from predictor_nas.launch import WorkerFleet
    from predictor_nas.pipeline import run_pipeline

    config = replace(tiny_pipeline(), references=("random_search",))
    fleet = WorkerFleet(LaunchSettings("local", folder=str(tmp_path / "launch")), 2, {"device": "cpu"})
    launched = run_pipeline(config, tmp_path / "launched", workers=fleet)
    here = run_pipeline(config, tmp_path / "here")
    assert launched["search"]["best_arch"] == here["search"]["best_arch"]
    assert launched["search"]["validation_accuracy"] == here["search"]["validation_accuracy"]
    assert launched["random_search"] == here["random_search"]
    for search in ("search", "random"):
        jobs = Pool.open(f"sqlite:///{tmp_path / 'launched' / search / 'pool.db'}").jobs()
        assert jobs and all(j.state == "done" for j in jobs)
        assert all("/" in j.worker for j in jobs), {j.worker for j in jobs}  # job-id/host: a launched worker
