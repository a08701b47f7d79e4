"""List the runs under a folder (or the search in a pool) with their state and best validation result.

nas runs runs/                     # every run directory below runs/, newest first
nas runs sqlite:///runs/s/pool.db  # the search in one pool
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("where", nargs="?", default="runs", help="a folder of runs or a pool URL (default: runs)")


def run(args: argparse.Namespace) -> int:
    from predictor_nas.runs import format_runs, list_runs

    runs = list_runs(args.where)
    print(json.dumps([r.to_dict() for r in runs], indent=2) if args.json else format_runs(runs))
    return 0
