"""Chaos benchmark of the pool: workers killed and restarted at random, the database restarted, then
every invariant checked from the database.

For each backend (SQLite; PostgreSQL on a private throwaway server, as the tests start one), a pool
of ``--jobs`` tiny NB201 candidates (digits, C=4, N=1) each trained to ``--epochs``; ``--workers``
``nas worker`` processes; every 1-3 s one random worker gets SIGKILL and a fresh one replaces it,
``--kills`` times; on PostgreSQL the server is also stopped for ``--db-outage`` seconds mid-run.
Checked afterwards: every job done exactly once to its epoch, every candidate's metrics exactly its
epochs 1..E (none lost, none twice), its newest checkpoint loadable. Bounded in time and count,
localhost only. Writes ``benchmarks/results/bench_chaos.json``.

    python scripts/bench_chaos.py [--backends sqlite postgresql] [--workers 4] [--jobs 24] [--kills 12]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def spawn(url: str, name: str, logs: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = ["worker", "--pool", url, "--name", name, "--device", "cpu", "--heartbeat-interval", "0.5"]
    return subprocess.Popen(
        [sys.executable, "-m", "nas_cli", *command, "--idle-timeout", "5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(logs / f"{name}.log").open("w"),
    )


def fill(url: str, jobs: int, epochs: int, checkpoints: str):
    from nas_core.vocabulary import NetworkSize
    from pools import Pool, PoolConfig

    pool = Pool.create(
        url,
        PoolConfig(
            space="nb201",
            dataset="digits",
            network=NetworkSize(4, 1),
            valid_fraction=0.25,
            train={"epochs": epochs, "batch_size": 128, "lr": 0.05, "crop_padding": 1, "flip": False},
            heartbeat_timeout=3.0,
            max_attempts=50,  # kills are the workers' fault, not the candidates': never fail for them
            checkpoint_store=checkpoints,
        ),
    )
    archs, seen, rng = [], set(), random.Random(0)
    while len(archs) < jobs:
        arch = pool.space.sample(rng)
        if pool.space.canonical_hash(arch) not in seen:
            seen.add(pool.space.canonical_hash(arch))
            archs.append(arch)
    for cid, _ in pool.add_candidates(archs):
        pool.enqueue(cid, epochs)
    return pool


def invariants(pool, epochs: int) -> dict:
    jobs, metrics = pool.jobs(), pool.metrics()
    lost = duplicated = unloadable = 0
    for cand in pool.candidates():
        seen = [r.epoch for r in metrics.get(cand.id, [])]
        lost += len(set(range(1, epochs + 1)) - set(seen))
        duplicated += len(seen) - len(set(seen))
        try:
            pool.store.load(pool.checkpoints(cand.id)[0][1])
        except Exception:
            unloadable += 1
    return {
        "jobs": len(jobs),
        "jobs_done": sum(j.state == "done" for j in jobs),
        "jobs_not_done": [(j.id, j.state) for j in jobs if j.state != "done"],
        "attempts": sum(j.attempts for j in jobs),
        "max_attempts_of_a_job": max(j.attempts for j in jobs),
        "metrics_lost": lost,
        "metrics_duplicated": duplicated,
        "checkpoints_unloadable": unloadable,
        "candidates_at_their_epoch": sum(c.epochs_trained == epochs for c in pool.candidates()),
    }


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict:
    server = None
    if backend == "postgresql":
        sys.path.insert(0, str(ROOT / "tests"))
        from postgres import PrivateServer  # the tests' throwaway server (Debian's postgresql binaries)

        server = PrivateServer()
        url = server.url
    else:
        url = f"sqlite:///{tmp}/chaos.db"
    pool = fill(url, args.jobs, args.epochs, str(tmp / f"{backend}.checkpoints"))
    rng = random.Random(args.seed)
    start = time.monotonic()
    workers = {f"w{i}": spawn(url, f"w{i}", tmp) for i in range(args.workers)}
    while not any(j.state != "queued" for j in pool.jobs()) and time.monotonic() - start < args.timeout:
        time.sleep(0.2)  # the kills start once the workers are at work
    kills = outages = restarts = 0
    outage: threading.Thread | None = None
    try:
        while kills < args.kills and time.monotonic() - start < args.timeout:
            time.sleep(rng.uniform(1.0, 3.0))
            if server is not None and outages == 0 and kills == args.kills // 2:

                def outage_then_back() -> None:
                    server.stop()
                    time.sleep(args.db_outage)
                    server.start()

                outage = threading.Thread(target=outage_then_back)
                outage.start()
                outages += 1
            name = rng.choice(sorted(workers))
            workers[name].send_signal(signal.SIGKILL)
            workers[name].wait()
            kills += 1
            new = f"{name.split('.')[0]}.{kills}"
            del workers[name]
            if outage is not None and outage.is_alive():
                outage.join()  # a worker started while the database is down stops with a clear error
            workers[new] = spawn(url, new, tmp)
            restarts += 1
        if outage is not None:
            outage.join()
        for proc in workers.values():
            proc.wait(timeout=max(1.0, args.timeout - (time.monotonic() - start)))
        seconds = time.monotonic() - start
        result = {"backend": backend, "kills": kills, "restarts": restarts, "db_outages": outages}
        # a worker that was not killed must end by itself with exit 0 (outages and lost leases survived)
        failed = [name for name, proc in workers.items() if proc.returncode != 0]
        result["workers_failed"] = len(failed)
        result["worker_errors"] = [(tmp / f"{n}.log").read_text().strip().splitlines()[-1:] for n in failed]
        result.update(invariants(pool, args.epochs), seconds=seconds)
        return result
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.kill()
        pool.close()
        if server is not None:
            server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--db-outage", type=float, default=5.0, help="seconds the PostgreSQL server is down")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_chaos.json")
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o777)  # the private PostgreSQL server runs as its own user
            row = run_backend(backend, args, Path(tmp))
        rows.append(row)
        print(json.dumps(row), flush=True)
    meta = {"machine": platform.node(), **{k: v for k, v in vars(args).items() if k != "out"}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "runs": rows}, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
