"""Pool bookkeeping benchmark: claim + per-epoch record + heartbeat + complete, 1 / 4 / 16 workers.

Workers run no training; each job does the database work a real job does: claim, one epoch record
(with a checkpoint key) per epoch, a heartbeat, complete. Two modes:

- ``saturation``: jobs take no time, so every worker hammers the database -- the pool's maximum
  jobs/s, and operation latencies under full contention (on a 2-core machine 16 processes also
  fight for the CPU, which inflates these latencies).
- ``10s-jobs``: each job lasts ``--job-seconds`` (10 s, sleeping between its epoch records), three
  jobs per worker -- the load of a real search. The bookkeeping time per job as a fraction of the
  job is the target figure (< 1 %). Workers start together, so their first claims and epoch records
  collide (a worst case); the figure from per-operation medians shows the steady state.

Workers connect and then wait at a barrier, so process start-up is not counted as bookkeeping.

    python scripts/bench_pool.py                      # SQLite; PostgreSQL too if reachable
    python scripts/bench_pool.py --postgres postgresql://user:pw@host/db
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import sqlalchemy as sa

from pools import EpochRecord, Pool, PoolConfig

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def _worker(url: str, name: str, epochs: int, job_seconds: float, start: mp.Barrier, out: mp.Queue) -> None:
    pool = Pool.open(url)
    pool.count_jobs()  # connect before the clock starts; process start-up (imports) is not bookkeeping
    start.wait()
    lat: dict[str, list[float]] = {"claim": [], "record": [], "heartbeat": [], "complete": []}
    while True:
        t = time.perf_counter()
        job = pool.claim(name)
        lat["claim"].append(time.perf_counter() - t)
        if job is None:
            break
        for e in range(1, epochs + 1):
            time.sleep(job_seconds / epochs)
            t = time.perf_counter()
            pool.record_metrics(
                job.candidate_id,
                [EpochRecord(e, 1.0, 50.0, 1.0, 50.0, None, 1.0)],
                e,
                f"c{job.candidate_id}_e{e}.pt",
                job=job,
                worker=name,
            )
            lat["record"].append(time.perf_counter() - t)
        t = time.perf_counter()
        pool.heartbeat(job, name)
        lat["heartbeat"].append(time.perf_counter() - t)
        t = time.perf_counter()
        pool.complete(job, name)
        lat["complete"].append(time.perf_counter() - t)
    out.put(lat)


def run(
    url: str,
    workers: int,
    jobs: int,
    epochs: int,
    checkpoint_dir: str,
    job_seconds: float,
    observer: Callable[[Pool], AbstractContextManager] | None = None,
) -> dict:
    """``jobs`` jobs over ``workers`` processes; ``observer(pool)`` is entered while they run (a reader
    beside the workers: scripts/bench_dashboard.py's polling dashboard)."""
    pool = Pool.create(url, PoolConfig(space="nb201", dataset="digits", checkpoint_store=checkpoint_dir))
    space = pool.space
    ids = [cid for cid, created in pool.add_candidates(list(space.enumerate())[: jobs * 3]) if created][:jobs]
    for cid in ids:
        pool.enqueue(cid, epochs)
    ctx = mp.get_context("spawn")
    out, barrier = ctx.Queue(), ctx.Barrier(workers + 1)
    procs = [
        ctx.Process(target=_worker, args=(url, f"w{i}", epochs, job_seconds, barrier, out)) for i in range(workers)
    ]
    for p in procs:
        p.start()
    with observer(pool) if observer else nullcontext():
        barrier.wait()
        start = time.perf_counter()
        lats = [out.get() for _ in procs]
        for p in procs:
            p.join()
        wall = time.perf_counter() - start
    done = pool.count_jobs().get("done", 0)
    assert done == jobs, f"{done} of {jobs} jobs done"
    merged = {k: [x for lat in lats for x in lat[k]] for k in lats[0]}
    ms = {
        k: {
            "mean": 1e3 * statistics.fmean(v),
            "median": 1e3 * statistics.median(v),
            "p95": 1e3 * sorted(v)[int(0.95 * (len(v) - 1))],
        }
        for k, v in merged.items()
        if v
    }

    def per_job(stat: str) -> float:
        return (ms["claim"][stat] + epochs * ms["record"][stat] + ms["heartbeat"][stat] + ms["complete"][stat]) / 1e3

    pool.close()
    return {
        "workers": workers,
        "jobs": jobs,
        "epochs_per_job": epochs,
        "job_seconds": job_seconds,
        "wall_s": wall,
        "jobs_per_s": jobs / wall,
        "latency_ms": ms,
        "bookkeeping_s_per_job": per_job("mean"),
        "overhead_of_10s_job_pct": 100 * per_job("mean") / 10.0,
        "overhead_of_10s_job_pct_from_medians": 100 * per_job("median") / 10.0,
    }


def postgres_database(admin_url: str) -> tuple[str, callable]:
    name = f"bench_pool_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for backend in sorted({r["backend"] for r in results}):
        for mode, style in (("saturation", "o--"), ("10s-jobs", "s-")):
            rows = [r for r in results if r["backend"] == backend and r["mode"] == mode]
            if mode == "saturation":
                axes[0].plot([r["workers"] for r in rows], [r["jobs_per_s"] for r in rows], style, label=backend)
            axes[1].plot(
                [r["workers"] for r in rows],
                [r["overhead_of_10s_job_pct"] for r in rows],
                style,
                label=f"{backend}, {mode}",
            )
    axes[0].set(xscale="log", xlabel="worker processes", ylabel="jobs / s (saturation, no training)")
    axes[1].axhline(1.0, color="red", ls="--", lw=1, label="target 1 %")
    axes[1].set(xscale="log", yscale="log", xlabel="worker processes", ylabel="% of a 10 s job")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--jobs", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=4, help="epoch records per job")
    parser.add_argument("--job-seconds", type=float, default=10.0, help="job length in the 10s-jobs mode")
    parser.add_argument(
        "--postgres",
        default="postgresql://nas:nas@localhost/nas",
        help="a PostgreSQL URL where databases can be created ('' to skip)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_pool.json")
    args = parser.parse_args()

    results = []
    modes = {"saturation": (args.jobs, 0.0), "10s-jobs": (None, args.job_seconds)}
    with tempfile.TemporaryDirectory() as tmp:
        backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
        for backend in backends:
            for mode, (jobs, seconds) in modes.items():
                for n in args.workers:
                    n_jobs = jobs or 3 * n
                    if backend == "sqlite":
                        url, drop = f"sqlite:///{tmp}/pool_{mode}_{n}.db", (lambda: None)
                    else:
                        try:
                            url, drop = postgres_database(args.postgres)
                        except sa.exc.OperationalError as exc:
                            print(f"PostgreSQL skipped: {exc.orig}")
                            break
                    try:
                        r = run(url, n, n_jobs, args.epochs, f"{tmp}/ckpt", seconds)
                    finally:
                        drop()
                    results.append({"backend": backend, "mode": mode, **r})
                    print(
                        f"{backend:<11} {mode:<10} {n:>3} workers: {r['jobs_per_s']:7.2f} jobs/s, bookkeeping "
                        f"{1e3 * r['bookkeeping_s_per_job']:6.1f} ms/job = {r['overhead_of_10s_job_pct']:.3f} % "
                        f"of a 10 s job (from medians {r['overhead_of_10s_job_pct_from_medians']:.3f} %)"
                    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.node(),
        "cpu_count": mp.cpu_count(),
        "python": platform.python_version(),
        "note": "bookkeeping only (no training); latencies measured inside the worker processes",
    }
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    plot(results, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
