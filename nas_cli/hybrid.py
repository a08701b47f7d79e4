"""``nas hybrid --config FILE.yaml``: differentiable searches seed and warm-start a RANK-NOSH search.

The recipe is :func:`predictor_nas.hybrid.run_hybrid` (its docstring has every key); this command reads the
YAML/JSON file and shows a progress bar per phase (the recipe writes the run directory, plots included). Running
it again resumes every step. ``--launcher slurm|ray|local --workers N`` sends the RANK-NOSH phase's pool
workers out as jobs (docs/cluster.md); the supernets train where the command runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nas_cli.bars import PhaseBars
from nas_cli.launch_flags import add_launch_arguments, worker_fleet
from nas_cli.rundir import prepare_run_dir
from predictor_nas.hybrid import load_config, run_hybrid
from predictor_nas.launch import WorkerFleet


def run_recipe(
    config: dict[str, Any], out: str | Path, progress: bool = False, workers: WorkerFleet | None = None
) -> dict[str, Any]:
    """The recipe in run directory ``out`` (config.json, result.json, plots), a tqdm bar per phase;
    ``workers``: the RANK-NOSH phase's pool workers as scheduler jobs."""
    out = prepare_run_dir(out, "hybrid", config)
    with PhaseBars(disable=not progress) as bars:
        summary = run_hybrid(
            config,
            out,
            on_phase=bars.phase,
            on_epoch=lambda entry: bars.at(entry["epoch"] + 1),  # a supernet epoch's record counts from 0
            on_progress=bars.progress,
            workers=workers,
        )
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="YAML or JSON recipe (see above)")
    parser.add_argument("--out", type=Path, required=True, help="run directory (resumes from it)")
    parser.add_argument("--dataset", default=None, help="override the config's dataset")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_launch_arguments(parser, "the RANK-NOSH phase's pool workers (real training; the supernets train here)", True)


def run(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("dataset", args.dataset), ("seed", args.seed)) if v is not None}
    config = load_config(args.config, overrides)
    fleet = worker_fleet(args, args.out, device=config["device"], data_root=config["data_root"])
    summary = run_recipe(config, args.out, progress=not args.quiet, workers=fleet)
    print(json.dumps({k: v for k, v in summary.items() if k != "curve"}, indent=2))
    return 0
