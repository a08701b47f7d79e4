"""Ranking predictor quality on NAS-Bench-201: Kendall tau on 5,000 held-out cells.

The predictor literature's protocol: for each seed, 5,000 cells are held out; the ranker trains on
100 / 400 / 1,000 other cells, observing their 200-epoch *validation* accuracy (NB201 v1_0), and is
scored by Kendall tau against the held-out cells' 200-epoch validation accuracy, and against their
test accuracy (same file) beside it. The held-out set is made of whole isomorphism classes
(``canonical_hash``), so no training cell has an isomorphic duplicate in it; the same run repeats
the evaluation with a plain random split (``split = "random"``) to show what that leak changes. The
same run fits scikit-learn baselines (random forest and gradient boosting) on one-hot encodings.

    python scripts/bench_ranker.py [--seeds 10] [--sizes 100 400 1000] [--dataset cifar10]
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import time

import numpy as np
from scipy.stats import kendalltau
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

from nas_core.spaces import get_space
from nas_core.spaces.nb201 import official_order
from predictor_nas.ranker import Ranker, RankerConfig, pairs_from_scores
from predictor_nas.stats import fmt_mean_sd
from predictor_nas.tables import load_test, load_validation

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def one_hot(space, archs: list[str]) -> np.ndarray:
    cells = [space.from_string(a) for a in archs]
    return np.array([[op == o for op in c.ops for o in space.ops] for c in cells], dtype=np.float32)


def fit_predict(
    method: str,
    space,
    archs: list[str],
    x_train: np.ndarray,
    observed: np.ndarray,
    test_archs: list[str],
    x_test: np.ndarray,
    seed: int,
    loss: str,
) -> np.ndarray:
    """Fit ``method`` on the training cells and predict the held-out ones."""
    if method == "gnn_ranker":
        ranker = Ranker(space, RankerConfig(loss=loss, seed=seed))
        return ranker.fit(archs, pairs_from_scores(observed), targets=observed).score(test_archs)
    if method == "random_forest":
        return RandomForestRegressor(300, random_state=seed).fit(x_train, observed).predict(x_test)
    return GradientBoostingRegressor(random_state=seed).fit(x_train, observed).predict(x_test)


def held_out_split(space, strings: tuple[str, ...], seed: int, n_test: int, by_class: bool) -> tuple:
    """(test indices, remaining indices in random order). ``by_class``: the test set is whole isomorphism
    classes, so none of its cells is isomorphic to a cell left for training."""
    rng = np.random.default_rng(seed)
    if not by_class:
        perm = rng.permutation(len(strings))
        return perm[:n_test], perm[n_test:]
    classes: dict[str, list[int]] = {}
    for i, s in enumerate(strings):
        classes.setdefault(space.canonical_hash(space.from_string(s)), []).append(i)
    groups = list(classes.values())
    test: list[int] = []
    rest: list[int] = []
    for g in rng.permutation(len(groups)):
        (test if len(test) < n_test else rest).extend(groups[g])
    return np.array(test), rng.permutation(np.array(rest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1000])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--loss", default="hinge", choices=["hinge", "logistic", "mse"])
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_ranker.json")
    parser.add_argument(
        "--resummarize", action="store_true", help="recompute the summaries of --out from its per-seed values"
    )
    args = parser.parse_args()
    if args.resummarize:
        result = json.loads(args.out.read_text())
        result.update(summaries(result["per_seed"], args.sizes))
        result["meta"].update(statistics_meta(args))
        args.out.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")
        return

    space = get_space("nb201")
    val200 = load_validation(args.dataset).val200
    test200 = load_test(args.dataset).test200
    strings = official_order()
    methods = ("gnn_ranker", "random_forest", "gradient_boosting")
    splits = ("isomorphism_classes", "random")
    taus = {sp: {t: {m: {n: [] for n in args.sizes} for m in methods} for t in ("valid", "test")} for sp in splits}
    seconds = {m: {n: [] for n in args.sizes} for m in methods}
    for seed in range(args.seeds):
        for split in splits:
            test, rest = held_out_split(space, strings, seed, 5000, by_class=split == "isomorphism_classes")
            test_archs = [strings[i] for i in test]
            x_test = one_hot(space, test_archs)
            for n in args.sizes:
                train = rest[:n]
                archs = [strings[i] for i in train]
                observed = val200[train]
                x_train = one_hot(space, archs)
                for method in methods:
                    start = time.time()
                    predicted = fit_predict(
                        method, space, archs, x_train, observed, test_archs, x_test, seed, args.loss
                    )
                    seconds[method][n].append(time.time() - start)
                    for truth, values in (("valid", val200), ("test", test200)):
                        tau = float(kendalltau(predicted, values[test]).statistic)
                        taus[split][truth][method][n].append(tau)
                print(
                    f"seed {seed} {split:19s} n={n:5d}: "
                    + ", ".join(f"{m} {taus[split]['valid'][m][n][-1]:.3f}" for m in methods),
                    flush=True,
                )

    summary = summaries(taus, args.sizes)
    for m in methods:
        for n in args.sizes:
            summary["kendall_tau"][m][str(n)]["seconds"] = float(np.mean(seconds[m][n]))
    result = {
        "meta": {
            **statistics_meta(args),
            "dataset": args.dataset,
            "held_out": "5,000 cells or more: whole isomorphism classes",
            "train_labels": "200-epoch validation accuracy (NB201 v1_0)",
            "truth": "held-out 200-epoch validation accuracy (kendall_tau); test accuracy (kendall_tau_test)",
            "ranker": RankerConfig(loss=args.loss).__dict__,
        },
        **summary,
        "per_seed": taus,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(summary["kendall_tau"], args.sizes, args.out.with_suffix(".png"))
    for label, table in (
        ("valid", summary["kendall_tau"]),
        ("test", result["kendall_tau_test"]),
        ("valid, random split", result["random_split"]["valid"]),
    ):
        print(label)
        for m in methods:
            print(f"  {m:18s} " + "  ".join(f"n={n}: {fmt_mean_sd(table[m][str(n)], 3)}" for n in args.sizes))
    print(f"wrote {args.out}")


def summaries(per_seed: dict, sizes: list[int]) -> dict:
    """Kendall τ per model and training size (``predictor_nas.stats.summarize``: mean, sample SD, 95 %
    interval over seeds) for the isomorphism-class split (vs validation and test) and the random split."""
    from predictor_nas.stats import summarize

    def table(values: dict) -> dict:
        return {m: {str(n): summarize(values[m][str(n)]) for n in sizes} for m in values}

    per_seed = json.loads(json.dumps(per_seed))  # int or str sizes alike
    classes, rand = per_seed["isomorphism_classes"], per_seed["random"]
    return {
        "kendall_tau": table(classes["valid"]),
        "kendall_tau_test": table(classes["test"]),
        "random_split": {"valid": table(rand["valid"]), "test": table(rand["test"])},
    }


def statistics_meta(args: argparse.Namespace) -> dict:
    from scripts.provenance import provenance

    return {
        **provenance(list(range(args.seeds))),
        "statistics": "mean, sample SD (ddof 1), t 95 % interval of Kendall tau over seeds",
    }


def plot(summary: dict, sizes: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, s in summary.items():
        ax.errorbar(
            sizes,
            [s[str(n)]["mean"] for n in sizes],
            [s[str(n)]["sd"] for n in sizes],
            marker="o",
            capsize=3,
            label=method,
        )
    ax.axhline(0.70, color="grey", ls=":", lw=1)
    ax.axhline(0.85, color="grey", ls="--", lw=1)
    ax.set(
        xscale="log",
        xlabel="training architectures",
        ylabel="Kendall tau (200-epoch validation), held-out cells",
        title="NAS-Bench-201 CIFAR-10, held-out isomorphism classes",
    )
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
