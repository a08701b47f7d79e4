"""Renders README.md, docs/benchmarks.md and docs/cluster.md from their templates (``docs/templates/*.md.j2``) and the
benchmark JSONs in ``benchmarks/results/``, so that every measured figure they show comes from a raw file
(``tests/test_docs.py`` fails when a committed page differs from its rendering: edit the template, never
the page, and run ``python -m scripts.docs_gen``).

In a template, ``r.NAME`` is ``benchmarks/results/NAME.json``; ``f(x, 2)`` formats a number, ``pm(s)`` a
``predictor_nas.stats.summarize`` dict as ``mean ± SD``, ``pval(p)`` a p-value, ``ci(d)`` a difference with
its 95 % interval; ``summary(values)`` / ``welch(a, b)`` / ``paired(a, b)`` are the statistics module's.
The tables are the functions below whose names end in ``_table``. Figures cited from papers are text.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import difflib
import json
from functools import cache
from typing import Any

from predictor_nas.stats import fmt_mean_sd, paired, summarize, welch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TEMPLATES = {
    ROOT / "README.md": ROOT / "docs" / "templates" / "README.md.j2",
    ROOT / "docs" / "benchmarks.md": ROOT / "docs" / "templates" / "benchmarks.md.j2",
    ROOT / "docs" / "cluster.md": ROOT / "docs" / "templates" / "cluster.md.j2",
}


#: how the tables name the pool's database backends
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@cache
def load(name: str) -> Any:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"a template reads {path.relative_to(ROOT)}, which does not exist")
    return json.loads(path.read_text())


class Results:
    """``r.bench_search`` -> the parsed ``benchmarks/results/bench_search.json``."""

    def __getattr__(self, name: str) -> Any:
        return load(name)


def f(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def pm(summary: dict[str, Any], digits: int = 2) -> str:
    return fmt_mean_sd(summary, digits)


def pval(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def ci(d: dict[str, Any], digits: int = 2) -> str:
    """``+0.83 [0.36, 1.31]``: a difference and its 95 % interval (or the bare difference)."""
    if d.get("diff") is None:
        return "—"
    text = f"{d['diff']:+.{digits}f}"
    return text if not d.get("ci95") else f"{text} [{d['ci95'][0]:+.{digits}f}, {d['ci95'][1]:+.{digits}f}]"


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {round(seconds % 60):02d} s"


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|")


def rows(header: list[str], body: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


# -- tables ---------------------------------------------------------------------------------------------
def search_table(dataset: str) -> str:
    data = load("bench_search")
    budgets = sorted({b for m in data["summary"][dataset].values() for b in m}, key=int)
    body = []
    for method, per in data["summary"][dataset].items():
        body.append([method, max(s["n"] for s in per.values())] + [pm(per[b]) if b in per else "—" for b in budgets])
    for name, (mean, sd) in data["published"][dataset].items():
        body.append([f"NB201 paper: {name} (12,000 s)", 500] + ["—"] * (len(budgets) - 1) + [f"{mean:.2f} ± {sd:.2f}"])
    return rows(["method", "n", *(f"{int(b):,}" for b in budgets)], body)


def search_tests_table(dataset: str) -> str:
    data = load("bench_search")["rank_nosh_vs_baselines"][dataset]
    budgets = sorted(data, key=int)
    methods = list(data[budgets[0]])
    body = [[m] + [f"{ci(data[b][m])}, p {pval(data[b][m]['p'])}" for b in budgets] for m in methods]
    return rows(["rank-nosh minus", *(f"{int(b):,}" for b in budgets)], body)


def ablation_table() -> str:
    data = load("bench_search")["ablations_paired"]
    body = []
    for dataset, per in data.items():
        for method, budgets in per.items():
            body.append(
                [dataset, method, budgets[min(budgets, key=int)]["n"]]
                + [f"{ci(budgets[b])}, p {pval(budgets[b]['p'])}" for b in sorted(budgets, key=int)]
            )
    return rows(["dataset", "ablation minus rank-nosh", "paired seeds", "1,000", "3,000"], body)


def tune_table() -> str:
    data = load("tune_search")
    budgets = [str(int(b)) for b in data["meta"]["budgets"]]
    datasets = list(next(iter(data["summary"].values())))
    body = []
    for setting, per in sorted(data["summary"].items(), key=lambda kv: -data["scores"][kv[0]]):
        chosen = " (chosen)" if setting == data["chosen"] else ""
        body.append(
            [f"`{setting}`{chosen}", f(data["scores"][setting], 3)]
            + [" / ".join(f(per[d][b]["mean"]) for b in budgets) for d in datasets]
        )
    return rows(["setting (over the preset)", "score", *(f"{d} at {' / '.join(budgets)}" for d in datasets)], body)


def nosh_table() -> str:
    from scripts.bench_nosh import markdown_table

    return markdown_table(load("bench_nosh")["table"])


def ranker_table() -> str:
    data = load("bench_ranker")
    sizes = list(next(iter(data["kendall_tau"].values())))
    body = []
    for model, per in data["kendall_tau"].items():
        test = data["kendall_tau_test"][model]
        body.append([model] + [pm(per[n], 3) for n in sizes] + [" / ".join(f(test[n]["mean"], 3) for n in sizes)])
    return rows(["model", *(f"{int(n):,} training cells" for n in sizes), "τ vs test"], body)


def ranker_differences_table() -> str:
    """Paired differences of Kendall τ (over seeds) per training size, with Holm-free per-cell p-values."""
    data = load("bench_ranker")["paired_differences"]
    sizes = list(next(iter(data.values())))
    body = [[name] + [f"{ci(per[n], 3)} (p {pval(per[n]['p'])})" for n in sizes] for name, per in data.items()]
    return rows(["τ difference (paired over seeds)", *(f"{int(n):,} cells" for n in sizes)], body)


def ranker_naslib_table() -> str:
    """The NASLib cross-check: each model with the project's four scores and with NASLib's twelve."""
    data = load("bench_ranker")["naslib_cross_check"]
    sizes = list(next(iter(data["own_4"].values())))
    body = [
        [model, scores] + [pm(data[key][model][n], 3) for n in sizes]
        for model in data["own_4"]
        for key, scores in (("own_4", "project's 4 data-free"), ("naslib_12", "NASLib's 12"))
        if model != "gnn_ranker" or key == "own_4"
    ]
    return rows(["model", "zero-cost scores", *(f"{int(n):,} cells" for n in sizes)], body)


def proxies_table() -> str:
    data = load("bench_proxies")["correlation_with_accuracy"]
    body = [
        [name, f(v["ours"], 3), v["n"], v["input"], f(v.get("naslib_cifar10"), 3) if v.get("naslib_cifar10") else "—"]
        for name, v in data.items()
    ]
    return rows(["proxy", "Spearman with NB201 CIFAR-10 accuracy", "n", "input", "NASLib (CIFAR-10)"], body)


def pool_table() -> str:
    data = load("bench_pool")["results"]
    timed = {(r["backend"], r["workers"]): r for r in data if r["mode"] == "10s-jobs"}
    saturated = {(r["backend"], r["workers"]): r for r in data if r["mode"] == "saturation"}
    body = [
        [
            backend,
            workers,
            f"{f(r['overhead_of_10s_job_pct'])} %",
            f"{f(r['overhead_of_10s_job_pct_from_medians'])} %",
            f(saturated[(backend, workers)]["jobs_per_s"], 1),
        ]
        for (backend, workers), r in timed.items()
    ]
    header = ["backend", "workers", "overhead (mean latencies)", "overhead (median latencies)", "saturation jobs/s"]
    return rows(header, body)


def signature_rates_table(*names: str) -> str:
    """bench_signatures.py --rate files (``signatures/rate-SPACE-bBATCH``): α updates per second and what a run
    reaching the target count costs, per space and method."""
    body = []
    for name in names:
        data = load(f"signatures/{name}")
        space = data["meta"]["settings"]["space"]
        for row in data["rates"]:
            body.append(
                [
                    space,
                    row["method"],
                    row["alpha_steps_per_epoch"],
                    f(row["epoch_seconds"], 1),
                    f(row["alpha_steps_per_s"], 1),
                    row["epochs_for_target"],
                    f(row["hours_for_target"], 1),
                ]
            )
    header = ["space", "method", "α steps / epoch", "s / epoch", "α steps / s", "epochs to target", "hours"]
    return rows(header, body)


def pool_scale_table() -> str:
    """bench_pool.py --scale: per backend and worker count, median operations/s (range) and lease latency."""
    body = [
        [
            BACKENDS[r["backend"]],
            r["workers"],
            f"{f(r['operations_per_s'], 0)} ({'–'.join(f(x, 0) for x in r['operations_per_s_range'])})",
            f(r["jobs_per_s"], 1),
            f(r["lease_p50_ms"], 1),
            f(r["lease_p99_ms"], 0),
        ]
        for r in load("bench_pool_scale")["summary"]
    ]
    header = ["backend", "workers", "operations / s (range)", "jobs / s", "lease p50 ms", "lease p99 ms"]
    return rows(header, body)


def pool_capacity_table() -> str:
    """GPUs one pool keeps busy at each candidate duration, from its peak operations/s."""
    data = load("bench_pool_scale")["capacity"]
    durations = list(next(iter(data.values()))["gpus_served"])
    body = [
        [
            BACKENDS[b],
            f"{f(c['peak_operations_per_s'], 0)} ({c['peak_at_workers']} worker{'s' * (c['peak_at_workers'] != 1)})",
        ]
        + [f(c["gpus_served"][d], 0) for d in durations]
        for b, c in data.items()
    ]
    return rows(["backend", "peak operations / s"] + [f"GPUs at {d} candidates" for d in durations], body)


def chaos_table() -> str:
    body = []
    for r in load("bench_chaos")["runs"]:
        outage = f"{r['db_outages']} ({load('bench_chaos')['meta']['db_outage']:.0f} s)" if r["db_outages"] else "0"
        body.append(
            [
                BACKENDS[r["backend"]],
                f"{r['kills']} / {r['restarts']}",
                outage,
                f"{r['jobs_done']} of {r['jobs']}",
                r["attempts"],
                r["metrics_lost"],
                r["metrics_duplicated"],
                r["checkpoints_unloadable"],
                r["workers_failed"],
                f(r["seconds"], 0),
            ]
        )
    header = ["backend", "kills / restarts", "DB outages", "jobs done", "attempts", "metrics lost", "metrics twice"]
    return rows([*header, "unloadable checkpoints", "workers that failed", "seconds"], body)


def dashboard_table() -> str:
    data = load("bench_dashboard")
    body = []
    for key, v in data["summary"].items():
        jobs, mode = key.split(" / ")
        label = {"saturation": "no-time jobs (saturation)", "1s-jobs": "1-s jobs"}[jobs]
        refresh = "" if v["refresh_ms_median"] is None else f(v["refresh_ms_median"], 0)
        ratio, bookkeeping = f(v["throughput_vs_no_dashboard"]), f(v["bookkeeping_ms_per_job_median"], 0)
        body.append([label, mode, ratio, bookkeeping, refresh])
    header = ["jobs", "dashboard", "worker throughput vs none", "bookkeeping per job (ms)", "one page refresh (ms)"]
    return rows(header, body)


def diff_table() -> str:
    data = load("bench_diff")
    body = []
    for r in data["runs"]:
        body.append(
            [
                f"{r['method']}:{r['selection']}",
                f(r["cifar10_test_200ep_transfer"]),
                r["skips_per_epoch"][-1] if r.get("skips_per_epoch") else "—",
                f(r["seconds"], 0),
                f"`{cell(r['genotype'])}`",
            ]
        )
    return rows(["method:selection", "CIFAR-10 (transfer)", "skips in the final cell", "search time (s)", "cell"], body)


CYCLIC_LABELS = {
    "cdarts": "cdarts",
    "icdarts": "icdarts",
    "icdarts-xdarts-d0": "icdarts, XDARTS cells, δ = 0",
    "icdarts-xdarts-d0.01": "icdarts, XDARTS cells, δ = 0.01",
    "icdarts-xdarts-d0.05": "icdarts, XDARTS cells, δ = 0.05",
    "icdarts-xdarts-d0.1": "icdarts, XDARTS cells, δ = 0.1 (measured op weights)",
    "icdarts-hier-v2:initial": "hierarchical v2, initial (4 types alternating)",
    "icdarts-hier-v2:intermediate": "hierarchical v2, intermediate (searched placement)",
}


def spread(xs: list[float], digits: int) -> str:
    """``a`` when every value is ``a``, else ``low–high``."""
    return f(xs[0], digits) if xs[0] == xs[-1] else f"{f(xs[0], digits)}–{f(xs[-1], digits)}"


def cyclic_table() -> str:
    data = load("bench_diff_cyclic")
    body = []
    for key, label in CYCLIC_LABELS.items():
        runs = [r for r in data["runs"] if r["run"] == key]
        params = sorted(r["params_millions"] for r in runs)
        search = sorted(r["search_seconds"] for r in runs)
        s = data["summary"][key]
        body.append(
            [
                label,
                len(runs),
                pm(summarize([r["test_accuracy"] for r in runs])),
                f(s["latency_ms_batch64_mean"], 0),
                f(s["latency_ms_mean"], 1),
                spread(params, 3),
                spread(search, 0),
            ]
        )
    header = ["run", "seeds", "test accuracy", "latency, batch 64 (ms)", "latency, batch 1 (ms)", "params (M)"]
    return rows([*header, "search (s)"], body)


def signatures_table() -> str:
    data = load("bench_signatures")
    body = []
    names = {"darts": "DARTS 1st order", "sdarts-rs": "SDARTS-RS", "r-darts": "R-DARTS (early stop)"}
    names |= {"drnas": "DrNAS", "sp-darts": "SP-DARTS"}
    for r in data["table"]:
        label = names.get(r["method"], r["method"]) if r["selection"] == "magnitude" else "same supernets"
        selection = "magnitude" if r["selection"] == "magnitude" else "DARTS-PT"
        eig = "" if r["selection"] == "pt" else f"{f(r['first_eigenvalue_mean'])} → {f(r['final_eigenvalue_mean'])}"
        entropy = "" if r["selection"] == "pt" else f(r["final_entropy_mean"], 3)
        paper = "" if r["selection"] == "pt" or r["paper_cifar10"] is None else f(r["paper_cifar10"])
        body.append(
            [
                label,
                selection,
                pm({"mean": r["cifar10_mean"], "sd": r["cifar10_std"]}),
                f(r["skips_mean"], 1),
                eig,
                entropy,
                " / ".join(str(e) for e in r["epochs_run"]),
                paper,
            ]
        )
    header = ["method", "selection", "CIFAR-10 transfer (mean ± SD, 3 seeds)", "skips in the cell"]
    header += ["eigenvalue first → last (mean)", "α entropy at the end (nats; log 5 = 1.609)", "epochs run"]
    return rows([*header, "seed papers, NB201 CIFAR-10"], body)


def selected_accuracy(chosen: dict[str, Any] | None, measure: str) -> str:
    """A selected cell's NB201 CIFAR-10 ``transfer`` or ``retrained`` Fashion-MNIST test accuracy, formatted."""
    from scripts.bench_signatures import accuracy

    return "—" if chosen is None else f(accuracy(chosen, measure))


def signatures_long_table(folder: str = "signatures_long") -> str:
    """One row per run of the long grid (issue 40: the papers' α-step count), read from its raw run files."""
    from scripts.bench_signatures import collapse_step, load_run

    runs = [load_run(p) for p in sorted((RESULTS / folder).glob("*_s*.json"))]
    body = []
    for r in sorted(runs, key=lambda r: (r.get("space", "nb201"), r["method"], r["seed"])):
        last, eig = r["epochs"][-1], [e["eigenvalue"] for e in r["epochs"] if e["eigenvalue"] is not None]
        hit = collapse_step(r)
        cells = r["selections"]
        body.append(
            [
                f"{r['method']} ({r.get('space', 'nb201')})",
                r["seed"],
                f"{last['arch_steps']:,} / {r['epochs_run']}",
                f"{max(e['skips'] for e in r['epochs'])} / {cells['magnitude']['skips']}",
                cells["magnitude"]["parameter_free"],
                "never" if hit is None else f"{hit:,}",
                f"{f(eig[0])} → {f(max(eig))} → {f(eig[-1])}" if eig else "—",
                f(last["entropy"], 3),
                f"{f(last['train_acc'], 1)} / {f(last['valid_acc'], 1)}",
                " / ".join(selected_accuracy(cells.get(name), "transfer") for name in ("magnitude", "pt")),
                " / ".join(selected_accuracy(cells.get(name), "retrained") for name in ("magnitude", "pt")),
                f(r["seconds"] / 3600, 2),
            ]
        )
    header = ["method (space)", "seed", "α updates / epochs", "skips: most in any epoch / final cell"]
    header += ["parameter-free edges, final cell"]
    header += ["first ≥ 4 skips at (α updates)", "eigenvalue first → max → last", "α entropy at the end (nats)"]
    header += ["supernet train / valid at the end (%)", "NB201 CIFAR-10 transfer: magnitude / PT"]
    return rows([*header, "retrained Fashion-MNIST test: magnitude / PT", "hours"], body)


def gpu_cpu_table() -> str:
    data = load("bench_gpu_cpu")
    sn, cand = data["supernet_search_step"], data["candidate_training"]["runs"]
    reference = sn["reference"]["images_per_s"]
    body = [
        ["supernet search step (images/s)", f(reference), f(sn["ours"]["images_per_s"]), f(sn["ratio"])],
        ["supernet, channels-last", "—", f(sn["ours_channels_last"]["images_per_s"]), f(sn["ratio_channels_last"])],
        [
            "supernet, `--compile default`",
            "—",
            f(sn["ours_compiled"]["images_per_s"]),
            f"{f(sn['ratio_compiled'])} (compile {f(sn['ours_compiled']['warmup_seconds'], 0)} s)",
        ],
        [
            "supernet with checkpointed cells",
            "—",
            f(sn["ours_checkpointed"]["images_per_s"]),
            f"{f(sn['checkpoint_speed_ratio'])} of ours",
        ],
    ]
    ref_candidate = cand[0]["images_per_s"] / cand[0]["ratio"]
    for run in cand:
        layout = ", channels-last" if run["channels_last"] else ""
        label = f"{run['candidates']} candidate{'s' * (run['candidates'] > 1)} at once{layout} (images/s, summed)"
        body.append([label, f(ref_candidate) if run is cand[0] else "—", f(run["images_per_s"]), f(run["ratio"])])
    return rows(["measurement", "reference", "ours", "ratio"], body)


def hybrid_table(budget: str) -> str:
    """bench_hybrid.json at one total budget: each arm's retrained test accuracy, cost, and its paired
    difference from RANK-NOSH (95 % interval, paired t and Wilcoxon p, Holm-adjusted)."""
    body = []
    for row in load("bench_hybrid")["budgets"][budget]["table"]:
        d = row.get("vs_rank_nosh") or {}
        body.append(
            [
                f"{row['letter']} {row['arm']}",
                pm(row["test"]),
                len(row["seeds"]),
                f(row["total_epochs"], 0),
                f(row["total_epochs_1to1"], 0),
                f(row["supernet_charged_epochs"], 0),
                f(row["wall_minutes"], 1)
                + (f" ({row['wall_runs']} whole)" if row.get("wall_runs", 0) < len(row["seeds"]) else ""),
                ci(d) if d else "—",
                pval(d.get("p")),
                pval(d.get("wilcoxon_p")),
                pval(d.get("p_holm")),
            ]
        )
    header = ["arm", "retrained test % (mean ± SD)", "seeds", "epochs charged", "at 1:1", "of them supernet"]
    return rows([*header, "wall min", "minus A [95 % CI]", "paired t p", "Wilcoxon p", "Holm p"], body)


def pipeline_table(name: str = "pipeline_quickstart") -> str:
    data = load(name)
    labels = {
        "winner": "RANK-NOSH winner",
        "all_conv3x3": "NB201 all-`nor_conv_3x3`",
        "random_search": "best of random search, same budget",
        "plain_cnn": "hand-designed VGG-style CNN, size-matched",
    }
    body = []
    for key, row in data["final"].items():
        tests = row.get("test_accuracy_seeds", [row["test_accuracy"]])
        body.append(
            [
                labels.get(key, key),
                pm(summarize(tests)),
                len(tests),
                f(row["params_millions"], 3),
                f(row["flops_millions"], 1),
                f(row["latency_ms_batch1"]),
                f(row["train_seconds"], 0),
            ]
        )
    return rows(["network", "test % (mean ± SD)", "seeds", "params (M)", "MFLOPs", "ms / image", "train s"], body)


def final_recipe_table() -> str:
    """``bench_final_recipe.json``: per recipe, validation accuracy (mean ± SD over cells and seeds), one
    retraining's wall seconds and the predicted pipeline minutes; the chosen recipe in bold."""
    data = load("bench_final_recipe")
    body = []
    for r in data["recipes"]:
        mark = "**" if r["name"] == data["chosen"] else ""
        body.append(
            [
                f"{mark}{r['epochs']}{mark}",
                f"{mark}{r['images']:,}{mark}",
                f"{f(r['valid_acc_mean'])} ± {f(r['valid_acc_sd'])}",
                f(r["retrain_wall_s_mean"], 0),
                f(r["predicted_pipeline_s"] / 60, 1),
            ]
        )
    header = ["epochs", "training images", "validation % (mean ± SD)", "s / retraining", "pipeline min (predicted)"]
    return rows(header, body)


def pipeline_timing_table() -> str:
    """``bench_pipeline.json``: per condition, wall, phase seconds, retrainings reused and the retrainings' FLOP
    rate (per retraining, and all the side-by-side retrainings together as a share of the matmul peak)."""
    data = load("bench_pipeline")
    peak, cores = data["meta"]["attainable_gflops"], data["meta"]["machine"]["cores"]
    body = []
    for r in data["results"]:
        phases = r["phase_seconds"]
        retrain = sum(s for p, s in phases.items() if p.startswith("retrain"))
        rates = list(r["train_gflops"].values())
        threads = max([t for t in r["threads"].values() if t] or [cores])
        rate = "—"
        if rates:
            mean = sum(rates) / len(rates)
            rate = f"{f(mean, 1)} ({f(100 * mean * (cores // threads) / peak, 0)} % of peak)"
        body.append(
            [
                r["condition"],
                minutes(r["wall_s"]),
                f(phases.get("search", 0), 0),
                f(phases.get("random search", 0), 0),
                f(retrain, 0),
                f(phases.get("export", 0), 0),
                sum(r["cached_seeds"].values()),
                rate,
            ]
        )
    header = ["condition", "wall", "search s", "random search s", "retrainings s", "export s", "reused"]
    return rows([*header, "GFLOP/s a retraining (all cores)"], body)


def best_recipe() -> dict[str, Any]:
    """The most accurate recipe of ``bench_final_recipe.json`` on validation, whatever its time."""
    return max(load("bench_final_recipe")["recipes"], key=lambda r: r["valid_acc_mean"])


def pipeline_verdicts(name: str = "pipeline_quickstart") -> dict[str, dict[str, Any]]:
    """The winner against each reference: the stored verdicts, or (a run from before they were stored)
    the same rule applied to its test accuracies."""
    from predictor_nas.stats import verdict

    data = load(name)
    if "verdicts" in data:
        return data["verdicts"]
    final = data["final"]
    winner = final["winner"].get("test_accuracy_seeds", [final["winner"]["test_accuracy"]])
    out = {}
    for key, row in final.items():
        if key != "winner":
            d = welch(winner, row.get("test_accuracy_seeds", [row["test_accuracy"]]))
            out[key] = {"verdict": verdict(d), **d}
    return out


# -- rendering -------------------------------------------------------------------------------------------
def environment(folder: Path) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.globals |= {
        "r": Results(),
        "f": f,
        "pm": pm,
        "pval": pval,
        "ci": ci,
        "minutes": minutes,
        "summary": summarize,
        "welch": welch,
        "paired": paired,
        "pipeline_verdicts": pipeline_verdicts,
        "best_recipe": best_recipe,
        "exists": lambda name: (RESULTS / f"{name}.json").exists(),
        "count_greater": lambda a, b: sum(x > y for x, y in zip(a, b, strict=True)),
    }
    env.globals |= {name: fn for name, fn in globals().items() if name.endswith("_table")}
    env.filters["f"] = f
    return env


def render(page: Path) -> str:
    template = TEMPLATES[page]
    return environment(template.parent).get_template(template.name).render()


def drift(page: Path) -> list[str]:
    """The lines of ``page`` that differ from its rendering (a unified diff; empty when current)."""
    rendered = render(page).splitlines()
    committed = page.read_text().splitlines()
    name = str(page.relative_to(ROOT))
    return list(difflib.unified_diff(rendered, committed, f"{name} rendered", f"{name} committed", n=0, lineterm=""))


def write_all() -> list[Path]:
    for page in TEMPLATES:
        page.write_text(render(page))
    return list(TEMPLATES)
