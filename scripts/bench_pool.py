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

``--scale`` is how far one pool goes (issue 41): saturation at 1, 4, 16 and 64 worker processes on both
backends, operations per second and the p50/p99 latency of a lease (claim), and from the peak rate the
number of GPUs one pool keeps busy at candidate durations of 10 s, 1 min and 10 min
(:func:`gpus_served`), written to ``bench_pool_scale.json``. The workers and the database share this
machine's cores, so on a small machine the figures are a lower bound for a database on its own server.

    python scripts/bench_pool.py                      # SQLite; PostgreSQL too if reachable
    python scripts/bench_pool.py --postgres postgresql://user:pw@host/db
    python scripts/bench_pool.py --scale --postgres private   # a throwaway PostgreSQL server
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import itertools
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import sqlalchemy as sa

from pools import EpochRecord, Pool, PoolConfig
from scripts.provenance import provenance

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
    start_method: str = "spawn",
) -> dict:
    """``jobs`` jobs over ``workers`` processes; ``observer(pool)`` is entered while they run (a reader
    beside the workers: scripts/bench_dashboard.py's polling dashboard). ``start_method="fork"`` shares
    the parent's imported modules (torch: ~280 MB private memory per spawned process), so 64 workers fit
    in the memory of a small machine; each child still opens its own connection."""
    pool = Pool.create(url, PoolConfig(space="nb201", dataset="digits", checkpoint_store=checkpoint_dir))
    space = pool.space
    ids = [cid for cid, created in pool.add_candidates(list(space.enumerate())[: jobs * 3]) if created][:jobs]
    for cid in ids:
        pool.enqueue(cid, epochs)
    pool.engine.dispose()  # no connection of the parent's may be inherited by a forked child
    ctx = mp.get_context(start_method)
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
            "p99": 1e3 * sorted(v)[int(0.99 * (len(v) - 1))],
        }
        for k, v in merged.items()
        if v
    }

    def per_job(stat: str) -> float:
        return (ms["claim"][stat] + epochs * ms["record"][stat] + ms["heartbeat"][stat] + ms["complete"][stat]) / 1e3

    pool.close()
    operations = sum(len(v) for v in merged.values())
    return {
        "workers": workers,
        "jobs": jobs,
        "operations": operations,
        "operations_per_s": operations / wall,
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


def _axes() -> tuple:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, 2, figsize=(10, 3.8))


def _save(fig: Any, axes: Any, path: Path) -> None:
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot(results: list[dict], path: Path) -> None:
    fig, axes = _axes()
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
    _save(fig, axes, path)


def plot_scale(results: list[dict], path: Path) -> None:
    fig, axes = _axes()
    for color, backend in zip(("C0", "C1"), sorted({r["backend"] for r in results}), strict=False):
        rows = [r for r in results if r["backend"] == backend]
        workers = [r["workers"] for r in rows]
        low = [r["operations_per_s"] - r["operations_per_s_range"][0] for r in rows]
        high = [r["operations_per_s_range"][1] - r["operations_per_s"] for r in rows]
        ops = [r["operations_per_s"] for r in rows]
        axes[0].errorbar(workers, ops, [low, high], fmt="o-", color=color, capsize=3, label=backend)
        axes[1].plot(workers, [r["lease_p99_ms"] for r in rows], "o-", color=color, label=f"{backend} p99")
        axes[1].plot(workers, [r["lease_p50_ms"] for r in rows], "o:", color=color, label=f"{backend} median")
    axes[0].set(xscale="log", xlabel="worker processes", ylabel="pool operations / s (median, range)")
    axes[1].set(xscale="log", yscale="log", xlabel="worker processes", ylabel="lease (claim) latency, ms")
    _save(fig, axes, path)


#: candidate durations (seconds of training per job) at which the scale run states how many GPUs one pool serves
DURATIONS = {"10 s": 10.0, "1 min": 60.0, "10 min": 600.0}


def gpus_served(operations_per_s: float, epochs: int, seconds: float, heartbeat_s: float) -> float:
    """GPUs one pool keeps busy when each trains jobs of ``seconds``: a GPU's worker makes a claim, ``epochs``
    epoch records and a complete per job and a heartbeat every ``heartbeat_s``, i.e.
    ``(2 + epochs) / seconds + 1 / heartbeat_s`` operations per second; the pool does ``operations_per_s``."""
    return operations_per_s / ((2 + epochs) / seconds + 1 / heartbeat_s)


def medians(results: list[dict]) -> list[dict]:
    """One row per (backend, workers): the median over repeats of operations/s (with its range) and of
    the lease's p50 and p99 latency."""
    rows = []
    for key in dict.fromkeys((r["backend"], r["workers"]) for r in results):
        runs = [r for r in results if (r["backend"], r["workers"]) == key]
        ops = [r["operations_per_s"] for r in runs]
        rows.append(
            {
                "backend": key[0],
                "workers": key[1],
                "repeats": len(runs),
                "operations_per_s": statistics.median(ops),
                "operations_per_s_range": [min(ops), max(ops)],
                "jobs_per_s": statistics.median(r["jobs_per_s"] for r in runs),
                "lease_p50_ms": statistics.median(r["latency_ms"]["claim"]["median"] for r in runs),
                "lease_p99_ms": statistics.median(r["latency_ms"]["claim"]["p99"] for r in runs),
            }
        )
    return rows


def capacity(summary: list[dict], epochs: int, heartbeat_s: float) -> dict:
    """Per backend: the peak median operations/s over the worker counts, and the GPUs it serves at each duration."""
    out = {}
    for backend in sorted({r["backend"] for r in summary}):
        peak = max((r for r in summary if r["backend"] == backend), key=lambda r: r["operations_per_s"])
        out[backend] = {
            "peak_operations_per_s": peak["operations_per_s"],
            "peak_at_workers": peak["workers"],
            "gpus_served": {
                d: gpus_served(peak["operations_per_s"], epochs, s, heartbeat_s) for d, s in DURATIONS.items()
            },
        }
    return out


@contextmanager
def postgres_server(url: str) -> Iterator[str | None]:
    """``url``; ``private``: a throwaway server of the tests' (tests/postgres.py); '': none."""
    if url != "private":
        yield url or None
        return
    from tests.postgres import PrivateServer

    server = PrivateServer()
    try:
        yield server.url
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts (default 1 4 16; --scale: 1 4 16 64)")
    parser.add_argument("--jobs", type=int, default=160, help="saturation jobs (--scale: at least 8 per worker)")
    parser.add_argument("--epochs", type=int, default=4, help="epoch records per job")
    parser.add_argument("--repeats", type=int, help="runs of each setting, interleaved (default 1; --scale: 3)")
    parser.add_argument("--job-seconds", type=float, default=10.0, help="job length in the 10s-jobs mode")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="issue 41's pool-scale run: saturation only, forked workers, capacity per candidate duration, "
        "written to bench_pool_scale.json",
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://nas:nas@localhost/nas",
        help="a PostgreSQL URL where databases can be created; 'private' starts a throwaway server "
        "(Debian's postgresql binaries); '' skips PostgreSQL",
    )
    parser.add_argument(
        "--out", type=Path, help="default benchmarks/results/bench_pool.json (--scale: bench_pool_scale.json)"
    )
    args = parser.parse_args()
    args.repeats = args.repeats or (3 if args.scale else 1)
    workers = args.workers or ([1, 4, 16, 64] if args.scale else [1, 4, 16])
    out = args.out or RESULTS / ("bench_pool_scale.json" if args.scale else "bench_pool.json")

    results = []
    modes = (
        {"saturation": (args.jobs, 0.0)}
        if args.scale
        else {"saturation": (args.jobs, 0.0), "10s-jobs": (None, args.job_seconds)}
    )
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, postgres_server(args.postgres) as postgres:
        backends = ["sqlite"] + (["postgresql"] if postgres else [])
        if postgres:
            with sa.create_engine(postgres).connect() as conn:
                meta_postgres = {"max_connections": int(conn.exec_driver_sql("SHOW max_connections").scalar())}
        for repeat, backend in itertools.product(range(args.repeats), backends):
            for mode, (jobs, seconds) in modes.items():
                for n in workers:
                    n_jobs = max(jobs, 8 * n) if args.scale else (jobs or 3 * n)
                    if backend == "sqlite":
                        url, drop = f"sqlite:///{tmp}/pool_{mode}_{n}_{repeat}.db", (lambda: None)
                    else:
                        try:
                            url, drop = postgres_database(postgres)
                        except sa.exc.OperationalError as exc:
                            print(f"PostgreSQL skipped: {exc.orig}")
                            break
                    try:
                        start_method = "fork" if args.scale else "spawn"
                        r = run(url, n, n_jobs, args.epochs, f"{tmp}/ckpt", seconds, start_method=start_method)
                    finally:
                        drop()
                    results.append({"backend": backend, "mode": mode, "repeat": repeat, **r})
                    claim = r["latency_ms"]["claim"]
                    print(
                        f"{backend:<11} {mode:<10} {n:>3} workers: {r['jobs_per_s']:7.2f} jobs/s, "
                        f"{r['operations_per_s']:7.1f} operations/s, lease p50 {claim['median']:.1f} ms p99 "
                        f"{claim['p99']:.1f} ms; bookkeeping {1e3 * r['bookkeeping_s_per_job']:6.1f} ms/job"
                    )
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        **provenance(seeds=None),
        **({"postgresql": meta_postgres} if postgres else {}),
        "cpu_count": mp.cpu_count(),
        "note": "bookkeeping only (no training); latencies measured inside the worker processes",
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    report: dict = {"meta": meta, "results": results}
    if args.scale:
        heartbeat_s = PoolConfig(space="nb201").heartbeat_timeout / 4  # a worker's default heartbeat
        meta |= {
            "epochs_per_job": args.epochs,
            "heartbeat_s": heartbeat_s,
            "start_method": "fork",
            "model": "GPUs served = peak operations/s / ((2 + epochs) / duration + 1 / heartbeat_s)",
        }
        report["summary"] = medians(results)
        report["capacity"] = capacity(report["summary"], args.epochs, heartbeat_s)
        for backend, c in report["capacity"].items():
            served = ", ".join(f"{d}: {g:,.0f}" for d, g in c["gpus_served"].items())
            print(f"{backend}: peak {c['peak_operations_per_s']:.0f} operations/s -> GPUs served {served}")
    out.write_text(json.dumps(report, indent=2))
    if args.scale:
        plot_scale(report["summary"], out.with_suffix(".png"))
    else:
        plot(results, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
