"""How long the README's test command takes: the whole suite in pytest-xdist's 2 processes (pyproject's
``addopts``) against the same suite in one process (``-n 0``), one after the other on this machine, with
PostgreSQL and Chromium required as CI requires them. Run it on an otherwise idle machine.

    python scripts/bench_test_suite.py     # ~12 min on 2 cores -> benchmarks/results/bench_test_suite.json
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import json
import os
import re
import subprocess
import time

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_test_suite.json"
MODES = {"two processes (the README's command)": [], "one process (-n 0)": ["-n", "0"]}


def run_suite(extra: list[str]) -> dict[str, object]:
    """The suite once: its wall seconds and pytest's last line (passed / skipped counts)."""
    env = {**os.environ, "NAS_REQUIRE_POSTGRES": "1", "NAS_REQUIRE_CHROMIUM": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0:
        raise SystemExit(f"the suite failed ({' '.join(command)}):\n{done.stdout[-3000:]}")
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|skipped|failed)", summary)}
    return {"command": " ".join(["python3 -m pytest", *extra]), "wall_seconds": round(seconds, 1), **counts}


def main() -> None:
    from scripts.provenance import provenance

    runs = {name: run_suite(extra) for name, extra in MODES.items()}
    two, one = runs.values()
    data = {
        "meta": provenance(seeds=None),
        "runs": runs,
        "speedup": round(one["wall_seconds"] / two["wall_seconds"], 2),  # type: ignore[operator]
    }
    OUT.write_text(json.dumps(data, indent=1))
    print(json.dumps(data["runs"], indent=1), f"\nspeed-up {data['speedup']}x -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
