"""Ranking predictor quality on NAS-Bench-201: Kendall tau on 5,000 held-out cells.

For each seed, 5,000 random cells are held out; the ranker trains on 100 / 400 / 1,000 other random
cells, observing their single-run 200-epoch CIFAR-10 accuracy (the honest protocol), and is scored
by Kendall tau against the seed-mean 200-epoch accuracy of the held-out cells. The same run fits
scikit-learn baselines (random forest and gradient boosting) on one-hot encodings of the same cells.

    python scripts/bench_ranker.py [--seeds 10] [--sizes 100 400 1000] [--dataset cifar10]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

from predictor_nas.ranker import Ranker, RankerConfig, pairs_from_scores
from predictor_nas.tables import load_table
from supernet.spaces import get_space
from supernet.spaces.nb201 import official_order

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1000])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--loss", default="hinge", choices=["hinge", "logistic", "mse"])
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_ranker.json")
    args = parser.parse_args()

    space = get_space("nb201")
    table = load_table(args.dataset)
    strings = official_order()
    methods = ("gnn_ranker", "random_forest", "gradient_boosting")
    taus = {m: {n: [] for n in args.sizes} for m in methods}
    seconds = {m: {n: [] for n in args.sizes} for m in methods}
    for seed in range(args.seeds):
        perm = np.random.default_rng(seed).permutation(len(strings))
        test, rest = perm[:5000], perm[5000:]
        test_archs = [strings[i] for i in test]
        x_test = one_hot(space, test_archs)
        for n in args.sizes:
            train = rest[:n]
            archs = [strings[i] for i in train]
            observed = table.test200_single[train]
            x_train = one_hot(space, archs)
            for method in methods:
                start = time.time()
                predicted = fit_predict(method, space, archs, x_train, observed, test_archs, x_test, seed, args.loss)
                seconds[method][n].append(time.time() - start)
                taus[method][n].append(float(kendalltau(predicted, table.test200[test]).statistic))
            print(f"seed {seed} n={n:5d}: " + ", ".join(f"{m} {taus[m][n][-1]:.3f}" for m in methods), flush=True)

    summary = {
        m: {
            str(n): {
                "mean": float(np.mean(taus[m][n])),
                "std": float(np.std(taus[m][n])),
                "seconds": float(np.mean(seconds[m][n])),
            }
            for n in args.sizes
        }
        for m in methods
    }
    result = {
        "meta": {
            "machine": platform.node(),
            "dataset": args.dataset,
            "seeds": args.seeds,
            "held_out": 5000,
            "train_labels": "single-run 200-epoch accuracy",
            "truth": "seed-mean 200-epoch accuracy",
            "ranker": RankerConfig(loss=args.loss).__dict__,
        },
        "kendall_tau": summary,
        "per_seed": taus,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(summary, args.sizes, args.out.with_suffix(".png"))
    for m in methods:
        print(
            f"{m:18s} "
            + "  ".join(
                f"n={n}: {summary[m][str(n)]['mean']:.3f} ± {summary[m][str(n)]['std']:.3f}" for n in args.sizes
            )
        )
    print(f"wrote {args.out}")


def plot(summary: dict, sizes: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, s in summary.items():
        ax.errorbar(
            sizes,
            [s[str(n)]["mean"] for n in sizes],
            [s[str(n)]["std"] for n in sizes],
            marker="o",
            capsize=3,
            label=method,
        )
    ax.axhline(0.70, color="grey", ls=":", lw=1)
    ax.axhline(0.85, color="grey", ls="--", lw=1)
    ax.set(
        xscale="log",
        xlabel="training architectures",
        ylabel="Kendall tau on 5,000 held-out cells",
        title="NAS-Bench-201 CIFAR-10",
    )
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
