"""Does ``torch.compile`` pay for itself in the pipeline's CPU retrainings? (issue 44, item 2)

One retraining of the final recipe is one single-thread process training the NB201 all-``nor_conv_3x3`` cell
(C=8, N=1) on Fashion-MNIST batches of 128 for ``FinalTraining().epochs`` epochs of ``FinalTraining().images``
images. This script measures, in fresh single-thread processes on that network: the eager training step, the
compiled step, and the compile time (the first compiled steps minus eager ones) with Inductor's on-disk cache
empty (``cold``) and filled by the cold process (``warm``: what every later retraining on this machine pays).
Every network the pipeline retrains is a new graph to Inductor (the winner, the random search's best, the
plain CNN: only the all-conv3x3 reference recurs, and the retraining cache already reuses its runs), so a
network pays one cold compile and a warm one for each further seed. Compiling pays when its ``seeds`` retrainings'
saving (steps x seconds saved per step) exceeds that.

    python scripts/bench_compile_cpu.py          # benchmarks/results/bench_compile_cpu.json
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import subprocess
import tempfile
import time
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def step_times(compiled: bool, steps: int, batch: int = 128) -> dict[str, float]:
    """Seconds of the first 3 training steps together and the median of the next ``steps`` (one thread)."""
    import statistics

    import torch

    from nas_core.presets import NETWORKS
    from nas_core.spaces import get_space
    from predictor_nas.pipeline import ALL_CONV3X3

    torch.set_num_threads(1)
    torch.manual_seed(0)
    size = NETWORKS["quick"]
    net = get_space("nb201").build_network(
        ALL_CONV3X3, num_classes=10, in_channels=1, C=size.channels, N=size.cells_per_stage
    )
    forward = torch.compile(net, dynamic=False) if compiled else net
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))

    def step() -> float:
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(forward(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start

    first = sum(step() for _ in range(3))
    return {"first3_s": first, "step_s": statistics.median(step() for _ in range(steps))}


def in_process(mode: str, steps: int, cache: Path) -> dict[str, float]:
    """:func:`step_times` in a fresh process (Inductor's cache at ``cache``)."""
    call = f"step_times({mode != 'eager'}, {steps})"
    code = f"import json; from scripts.bench_compile_cpu import step_times; print(json.dumps({call}))"
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from predictor_nas.pipeline import FinalTraining
    from scripts.provenance import provenance

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed steps after the first three")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_compile_cpu.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        runs = {mode: in_process(mode, args.steps, Path(cache)) for mode in ("eager", "cold", "warm")}
    eager = runs["eager"]
    final = FinalTraining()
    steps_per_retraining = final.epochs * -(-(final.images or 60000) // final.batch_size)
    result: dict[str, Any] = {"meta": provenance(seeds=[0]), "runs": runs}
    result |= {
        "speedup_per_step": eager["step_s"] / runs["warm"]["step_s"],
        "compile_s": {m: runs[m]["first3_s"] - 3 * runs[m]["step_s"] for m in ("cold", "warm")},
        "steps_per_retraining": steps_per_retraining,
    }
    saving = eager["step_s"] - runs["warm"]["step_s"]
    compile_cost = result["compile_s"]["cold"] + (final.seeds - 1) * result["compile_s"]["warm"]
    result |= {"seeds": final.seeds, "compile_s_per_network": compile_cost}
    result["saved_s_per_network"] = final.seeds * steps_per_retraining * saving
    result["pays"] = bool(result["saved_s_per_network"] > compile_cost)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "meta"}, indent=2))


if __name__ == "__main__":
    main()
