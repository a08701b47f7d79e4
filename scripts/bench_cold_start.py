"""How long a tabular RANK-NOSH search takes from a cold start (an empty cache directory): the README's
tabular command, timed end to end as a new user runs it. Writes ``benchmarks/results/bench_cold_start.json``.

    python scripts/bench_cold_start.py [--budget-epochs 3000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import shlex
import subprocess
import tempfile
import time

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-epochs", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_cold_start.json")
    args = parser.parse_args()
    from scripts.provenance import provenance

    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as run:
        command = ["nas", "rank-nosh", "--space", "nb201", "--benchmark", "nb201:cifar10"]
        command += ["--budget-epochs", str(args.budget_epochs), "--seed", "0", "--out", run, "--quiet"]
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, "XDG_CACHE_HOME": cache}, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
    timed = "XDG_CACHE_HOME=$(mktemp -d) " + shlex.join([*command[:-3], "--quiet"])
    result = {
        "meta": {**provenance([0]), "timed_command": timed},
        "seconds": seconds,
        "load_average_before": load,
    }
    args.out.write_text(json.dumps(result, indent=1))
    print(f"{seconds:.1f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
