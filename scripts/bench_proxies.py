"""Zero-cost proxies: faithfulness to NASLib and correlation with NAS-Bench-201 accuracy.

1. On the 725 CIFAR-10 architectures of ``shared/data/zero_cost/zc_nasbench201.json``, our data-free
   ``synflow``, ``params`` and ``flops`` (CIFAR-10 input shape, C=16, N=5; read from the shipped table
   of :mod:`predictor_nas.proxy_table`) against NASLib's scores: Spearman (target >= 0.99 each).
2. Spearman of every proxy with the NAS-Bench-201 CIFAR-10 200-epoch test accuracy (seed mean) on
   those architectures. Data-dependent proxies need images; CIFAR-10 is not available offline, so
   they use one Fashion-MNIST batch (labelled as such) on a random subset (``--subset``). NASLib's
   own CIFAR-10 scores are listed beside them for reference.

    python scripts/bench_proxies.py [--subset 200] [--batch 64] [--skip ntk_cond]
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import random
import time
from pathlib import Path

from scipy.stats import spearmanr

from nas_core.data import DeviceLoader, make_splits
from nas_core.presets import NETWORKS
from nas_core.spaces import get_space
from predictor_nas.evaluators import NB201TestReporter
from predictor_nas.proxies import PROXIES, compute_proxies
from predictor_nas.proxy_table import load_proxy_table
from predictor_nas.tables import default_table_dir

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_NAMES = {"jacob_cov": "jacov"}


def naslib_to_string(t: tuple[int, ...]) -> str:
    """NASLib 6-tuple (edges 0-1, 0-2, 0-3, 1-2, 1-3, 2-3) to the NB201 string."""
    o = [NASLIB_OPS[t[i]] for i in (0, 1, 3, 2, 4, 5)]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


def load_naslib(path: Path, dataset: str = "cifar10") -> list[tuple[str, dict]]:
    data = json.loads(path.read_text())[dataset]
    return [(naslib_to_string(ast.literal_eval(key)), value) for key, value in data.items()]


def spearman(a: list[float], b: list[float]) -> float:
    return float(spearmanr(a, b).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--zc-file", type=Path, default=default_table_dir().parent / "zero_cost" / "zc_nasbench201.json"
    )
    parser.add_argument("--subset", type=int, default=200, help="architectures for data-dependent proxies")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--skip", nargs="*", default=[], help="data-dependent proxies to leave out (ntk_cond: ~2 min per net on a CPU)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_proxies.json")
    args = parser.parse_args()

    space = get_space("nb201")
    entries = load_naslib(args.zc_file)
    test = NB201TestReporter("cifar10")  # proxies are scored against accuracy; nothing is searched here
    archs = [a for a, _ in entries]
    accuracy = [test.report(a) for a in archs]
    network = NETWORKS["nb201"]

    start = time.time()
    table = load_proxy_table()  # the shipped scores (scripts/make_proxy_table.py), checked here
    free = [table[a] for a in archs]
    faithfulness = {}
    for name in ("synflow", "params", "flops"):
        keep = [i for i, (_, v) in enumerate(entries) if name in v]
        faithfulness[name] = {
            "spearman_vs_naslib": spearman([free[i][name] for i in keep], [entries[i][1][name]["score"] for i in keep]),
            "n": len(keep),
        }
    free_seconds = time.time() - start

    rng = random.Random(0)
    subset = sorted(rng.sample(range(len(archs)), min(args.subset, len(archs))))
    splits = make_splits("fashion-mnist", valid_fraction=0.1, seed=0)
    loader = DeviceLoader(splits.train, args.batch, mean=splits.mean, std=splits.std, device=args.device)
    batch = loader.sample_batch(args.batch, seed=0)
    data_dependent = [n for n in [*sorted(n for n in PROXIES if PROXIES[n].needs_data), "zen"] if n not in args.skip]
    start = time.time()
    dd = compute_proxies(
        space,
        [archs[i] for i in subset],
        data_dependent,
        num_classes=10,
        input_shape=splits.shape,
        batch=batch,
        network=network,
        device=args.device,
        progress=True,
    )
    dd_seconds = time.time() - start

    correlation = {}
    for name in ("synflow", "params", "flops"):
        correlation[name] = {
            "ours": spearman([r[name] for r in free], accuracy),
            "input": "cifar10 shape (data-free)",
            "n": len(archs),
        }
    for name in data_dependent:
        sign = 1 if PROXIES[name].higher_is_better else -1
        ours = [sign * r[name] for r in dd]
        correlation[name] = {
            "ours": spearman(ours, [accuracy[i] for i in subset]),
            "n": len(subset),
            "input": "data-free (Gaussian)"
            if not PROXIES[name].needs_data
            else f"one fashion-mnist batch of {args.batch}",
        }
    for name, info in correlation.items():
        key = NASLIB_NAMES.get(name, name)
        keep = [i for i, (_, v) in enumerate(entries) if key in v]
        if keep:
            info["naslib_cifar10"] = spearman([entries[i][1][key]["score"] for i in keep], [accuracy[i] for i in keep])

    result = {
        "meta": {
            "machine": platform.node(),
            "device": args.device,
            "archs": len(archs),
            "subset_for_data_dependent": len(subset),
            "batch": args.batch,
            "seconds_data_free": free_seconds,
            "seconds_data_dependent": dd_seconds,
            "accuracy": "NAS-Bench-201 CIFAR-10 200-epoch test accuracy, mean over seeds",
        },
        "faithfulness": faithfulness,
        "correlation_with_accuracy": correlation,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    plot(result, args.out.with_suffix(".png"))
    for name, info in faithfulness.items():
        print(f"faithfulness {name:8s} Spearman vs NASLib {info['spearman_vs_naslib']:.4f}")
    for name, info in correlation.items():
        ref = f"  (NASLib {info['naslib_cifar10']:.3f})" if "naslib_cifar10" in info else ""
        print(f"{name:10s} Spearman with accuracy {info['ours']:+.3f}  [{info['input']}, n={info['n']}]{ref}")
    print(f"wrote {args.out}")


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corr = result["correlation_with_accuracy"]
    names = sorted(corr, key=lambda n: -corr[n]["ours"])
    fig, ax = plt.subplots(figsize=(9, 3.8))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [corr[n]["ours"] for n in names], 0.4, label="ours")
    ax.bar(
        [x + 0.2 for x in xs], [corr[n].get("naslib_cifar10", 0) for n in names], 0.4, label="NASLib (CIFAR-10 batches)"
    )
    ax.set_xticks(list(xs), names, rotation=30)
    ax.set_ylabel("Spearman with NB201 CIFAR-10 accuracy")
    ax.set_title("zero-cost proxies (ours: data-dependent ones on a Fashion-MNIST batch)")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
