"""Does a dashboard watching a pool slow its workers? ``scripts/bench_pool.py``'s workers (claim, per-epoch
records, heartbeat, complete; no training) run on a SQLite pool with no reader, then with ``nas dashboard``
serving it and a client fetching the pool page's three JSON views (overview, candidates, workers) every
``--poll`` seconds (the page's default refresh is 5 s), and with the client fetching back to back (a worst
case). Conditions alternate within each repeat so machine drift hits all of them alike.

- ``saturation``: jobs take no time -- the pool's maximum jobs/s, the most sensitive to a reader;
- ``1s-jobs``: each job lasts ``--job-seconds`` -- the bookkeeping time per job a real search pays.

    python scripts/bench_dashboard.py          # writes benchmarks/results/bench_dashboard.json
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import multiprocessing as mp
import platform
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scripts.bench_pool import run as run_workers

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
VIEWS = ("/api/overview", "/api/candidates", "/api/workers")


@contextmanager
def polling_dashboard(pool: Any, poll: float, stats: dict[str, list[float]]) -> Iterator[None]:
    """A dashboard server over ``pool`` and a client refreshing the pool page's views every ``poll`` s."""
    from nas_cli.dashboard.server import Dashboard, serve_in_background

    server = serve_in_background(Dashboard(pool))
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            for view in VIEWS:
                with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{view}", timeout=60) as r:
                    r.read()
            stats["refresh_s"].append(time.perf_counter() - start)
            stop.wait(poll)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        server.shutdown()
        server.server_close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--jobs", type=int, default=160, help="jobs in the saturation mode")
    p.add_argument("--epochs", type=int, default=4, help="epoch records per job")
    p.add_argument("--job-seconds", type=float, default=1.0)
    p.add_argument("--poll", type=float, default=1.0, help="seconds between the client's refreshes")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=RESULTS / "bench_dashboard.json")
    args = p.parse_args()

    conditions = {"no dashboard": None, f"dashboard, refresh every {args.poll:g} s": args.poll}
    conditions["dashboard, back-to-back refreshes"] = 0.0
    modes = {"saturation": (args.jobs, 0.0), "1s-jobs": (3 * args.workers, args.job_seconds)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for mode, (jobs, seconds) in modes.items():
                for name, poll in conditions.items():
                    stats: dict[str, list[float]] = {"refresh_s": []}
                    url = f"sqlite:///{tmp}/pool_{repeat}_{mode}_{len(rows)}.db"
                    watch = (
                        None
                        if poll is None
                        else lambda pool, poll=poll, stats=stats: polling_dashboard(pool, poll, stats)
                    )
                    r = run_workers(
                        url,
                        args.workers,
                        jobs,
                        args.epochs,
                        f"{tmp}/ckpt",
                        seconds,
                        watch if poll is not None else None,
                    )
                    refresh = stats["refresh_s"]
                    rows.append(
                        {
                            "repeat": repeat,
                            "mode": mode,
                            "condition": name,
                            "jobs_per_s": r["jobs_per_s"],
                            "bookkeeping_ms_per_job": 1e3 * r["bookkeeping_s_per_job"],
                            "refreshes": len(refresh),
                            "refresh_ms_median": 1e3 * statistics.median(refresh) if refresh else None,
                        }
                    )
                    print(
                        f"{repeat} {mode:<10} {name:<36} {r['jobs_per_s']:7.2f} jobs/s, bookkeeping "
                        f"{rows[-1]['bookkeeping_ms_per_job']:6.1f} ms/job, {len(refresh)} refreshes",
                        flush=True,
                    )
    summary = {}
    for mode in modes:
        base = [r for r in rows if r["mode"] == mode and r["condition"] == "no dashboard"]
        for name in conditions:
            mine = [r for r in rows if r["mode"] == mode and r["condition"] == name]
            ratio = [m["jobs_per_s"] / b["jobs_per_s"] for m, b in zip(mine, base)]  # same repeat, same job
            summary[f"{mode} / {name}"] = {
                "jobs_per_s_median": statistics.median(r["jobs_per_s"] for r in mine),
                "throughput_vs_no_dashboard": statistics.median(ratio),
                "bookkeeping_ms_per_job_median": statistics.median(r["bookkeeping_ms_per_job"] for r in mine),
                "refresh_ms_median": statistics.median([r["refresh_ms_median"] for r in mine if r["refresh_ms_median"]])
                if any(r["refresh_ms_median"] for r in mine)
                else None,
            }
    meta = {"machine": platform.node(), "cpu_count": mp.cpu_count(), "python": platform.python_version(), **vars(args)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "summary": summary, "runs": rows}, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
