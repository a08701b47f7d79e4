"""A refactor moves no result: the chosen cells and curves of fixed searches, against a stored reference.

Two searches through the public API: the tabular RANK-NOSH search of the README (NAS-Bench-201 CIFAR-10,
the ``tabular`` preset, 3,000 epochs, seeds 0-2) and a short real-training search (the ``quick`` preset on
scikit-learn's digits, C=4, seed 0, on the CPU). ``--record`` writes what they choose and their validation
curves to ``benchmarks/results/regression_reference.json`` (with the commit); ``--check`` runs them again and
lists every difference (exit 1 when any). Floating-point training is compared exactly: run both on the same
machine (another CPU may round differently).

    python scripts/regression_check.py --record     # before a refactor (~1 min)
    python scripts/regression_check.py --check      # after it
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import tempfile
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
REFERENCE = RESULTS / "regression_reference.json"


def tabular(seed: int) -> dict[str, Any]:
    from predictor_nas.study import Study, search_preset

    config = search_preset("tabular", seed=seed)
    with tempfile.TemporaryDirectory() as tmp, Study.create(config, benchmark="nb201:cifar10", run_dir=tmp) as study:
        result = study.optimize()
        return {"best_arch": result.best_arch, "curve": [list(p) for p in result.curve]}


def real(seed: int) -> dict[str, Any]:
    import torch

    from nas_core.vocabulary import NetworkSize
    from predictor_nas.study import CandidateTraining, Study, search_preset

    torch.set_num_threads(1)
    training = CandidateTraining(
        dataset="digits", max_train=256, max_test=256, network=NetworkSize(4, 1), batch_size=64, device="cpu"
    )
    config = search_preset("quick", budgets=(1, 2), k=2, initial=4, level0_samples=6, budget_epochs=14, seed=seed)
    with tempfile.TemporaryDirectory() as tmp, Study.create(config, training=training, run_dir=tmp) as study:
        result = study.optimize()
        return {"best_arch": result.best_arch, "curve": [list(p) for p in result.curve]}


def measure() -> dict[str, Any]:
    return {
        **{f"tabular_cifar10_s{s}": tabular(s) for s in (0, 1, 2)},
        "real_digits_s0": real(0),
    }


def differences(reference: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out = []
    for name, ref in reference["searches"].items():
        got = now.get(name)
        if got is None:
            out.append(f"{name}: not run")
            continue
        if got["best_arch"] != ref["best_arch"]:
            out.append(f"{name}: chose {got['best_arch']}, the reference {ref['best_arch']}")
        if got["curve"] != ref["curve"]:
            first = next((i for i, (a, b) in enumerate(zip(got["curve"], ref["curve"])) if a != b), None)
            out.append(f"{name}: curve differs (first at point {first}: {len(got['curve'])} vs {len(ref['curve'])})")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--record", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    from scripts.provenance import provenance

    now = measure()
    if args.record:
        REFERENCE.write_text(json.dumps({"meta": provenance([0, 1, 2]), "searches": now}, indent=1))
        print(f"wrote {REFERENCE}")
        return 0
    diffs = differences(json.loads(REFERENCE.read_text()), now)
    print("\n".join(diffs) if diffs else "no result moved: every search chose the same cell along the same curve")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
