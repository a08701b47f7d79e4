"""What the dashboard's pages show, as JSON-ready dicts read straight from the pool and the run folder.

Only what a search may look at is shown: validation accuracy, never the test split (the honest protocol
of ``../shared/data/README.md``; the pool's ``test_acc`` column is not read here). Each view is a few
plain queries on the pool (``Pool.candidates``, ``metrics``, ``jobs``, ``get_state``): the workers never
wait on the dashboard beyond SQLite's shared read lock (``scripts/bench_dashboard.py`` measures it).
"""

from __future__ import annotations

import io
import json
import shlex
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pools import Pool
from pools.frames import candidate_rows, curve_rows
from predictor_nas.runs import SEARCH_KEY, search_state


def _rounds(state: dict[str, Any], run_dir: Path | None) -> list[dict[str, Any]]:
    """The per-round records (pyramid sizes, admission τ, cost): the pool's copy, else ``rounds.jsonl``."""
    if state.get("rounds"):
        return state["rounds"]
    path = run_dir / "rounds.jsonl" if run_dir else None
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def overview(pool: Pool, run_dir: Path | None = None) -> dict[str, Any]:
    """The pool page's header and charts: the search's round and phase, the NOSH pyramid per round, the
    best validation so far against epochs spent, the ranker's admission Kendall τ per admission."""
    state = search_state(pool) or {}
    config = state.get("config") or {}
    lease = pool.lease(SEARCH_KEY)
    cands = pool.candidates()
    curve = state.get("curve") or []  # [cost, incumbent arch, its validation, at epoch]
    return {
        "url": pool.url,
        "space": pool.config.space,
        "dataset": pool.config.dataset,
        "network": pool.config.network.to_dict() if pool.config.network else None,
        "search": {
            "running": lease is not None and lease["age"] < pool.config.heartbeat_timeout,
            "owner": lease["owner"] if lease else None,
            "round": state.get("round"),
            "phase": state.get("phase"),
            "done": bool(state.get("done")),
            "budgets": config.get("budgets"),
            "budget_epochs": config.get("budget_epochs"),
        },
        "candidates": len(cands),
        "status": dict(Counter(c.status for c in cands)),
        "lineage": dict(Counter(c.lineage for c in cands)),
        "levels": {str(k): v for k, v in sorted(Counter(c.level for c in cands).items())},
        "epochs_spent": pool.total_epochs(),
        "jobs": pool.count_jobs(),
        "curve": [{"cost": p[0], "valid_acc": p[2], "arch": p[1], "epoch": p[3]} for p in curve],
        "rounds": [
            {
                "round": r["round"],
                "cost_epochs": r.get("cost_epochs"),
                "pyramid": r.get("pyramid", {}),
                "admission_tau": r.get("admission_tau"),
            }
            for r in _rounds(state, run_dir)
        ],
        # every admission's τ, as soon as its level-1 accuracies exist (a round the budget cut short too)
        "ranker_tau": state.get("ranker_tau")
        or [{"round": r["round"], "tau": r.get("admission_tau")} for r in _rounds(state, run_dir)],
        "updated": time.time(),
    }


def candidate_table(pool: Pool) -> dict[str, Any]:
    """Every candidate with lineage, NOSH level, epochs, validation at each budget and proxy scores."""
    state = search_state(pool) or {}
    budgets = list((state.get("config") or {}).get("budgets") or [])
    metrics = pool.metrics()
    by_epoch = {
        cid: {r.epoch: r.valid_acc for r in records if r.valid_acc is not None} for cid, records in metrics.items()
    }
    rows = candidate_rows(pool, metrics)
    for row in rows:
        seen = by_epoch.get(row["id"], {})
        # the budgets' epochs (what NOSH compares), or every recorded epoch without a search state
        row["valid"] = {str(e): seen[e] for e in (budgets or sorted(seen)) if e in seen}
    proxies = sorted({k[len("proxy_") :] for row in rows for k in row if k.startswith("proxy_")})
    return {"budgets": budgets, "proxies": proxies, "rows": rows}


def workers(pool: Pool, allow_actions: bool = False) -> dict[str, Any]:
    """Live leases (running jobs, their heartbeat age), jobs per worker by state, failed jobs with their
    error; ``allow_actions`` says whether the page may offer a retry (``--allow-actions``)."""
    now = pool.clock()  # heartbeats are stamped with the database's clock
    timeout = pool.config.heartbeat_timeout
    jobs = pool.jobs()
    per_worker: dict[str, Counter] = defaultdict(Counter)
    for j in jobs:
        if j.worker:
            per_worker[j.worker][j.state] += 1
    failed_candidates = {c.id: c.error for c in pool.candidates(status="failed")}
    return {
        "heartbeat_timeout": timeout,
        "allow_actions": allow_actions,
        "leases": [
            {
                "job": j.id,
                "candidate": j.candidate_id,
                "worker": j.worker,
                "to_epoch": j.to_epoch,
                "attempt": j.attempts,
                "heartbeat_age": None if j.heartbeat is None else now - j.heartbeat,
                "running_for": None if j.started_at is None else now - j.started_at,
                "stale": j.heartbeat is not None and now - j.heartbeat > timeout,
            }
            for j in jobs
            if j.state == "running"
        ],
        "workers": {w: dict(c) for w, c in sorted(per_worker.items())},
        "failed": [
            {
                "job": j.id,
                "candidate": j.candidate_id,
                "worker": j.worker,
                "attempts": j.attempts,
                "error": j.error,
                "retryable": j.candidate_id in failed_candidates,  # its candidate is still marked failed
            }
            for j in jobs
            if j.state == "failed"
        ],
    }


def retrain_command(pool: Pool, arch: str, candidate_id: int) -> str:
    """The ``nas train`` line that retrains ``arch`` on the full training set with the pool's network."""
    cfg = pool.config
    parts = ["nas", "train", "--arch", shlex.quote(arch), "--space", cfg.space, "--dataset", cfg.dataset]
    if cfg.space_declaration:  # a declared space: `nas train` declares it from the pool
        parts += ["--space-from", shlex.quote(pool.url)]
    if cfg.network:
        parts += ["--channels", str(cfg.network.channels), "--cells-per-stage", str(cfg.network.cells_per_stage)]
    if cfg.pad_to:
        parts += ["--pad-to", str(cfg.pad_to)]
    return " ".join([*parts, "--out", f"runs/retrain-{candidate_id}"])


def candidate_detail(pool: Pool, candidate_id: int) -> dict[str, Any]:
    """One candidate: lineage and parent, learning curve (validation only), checkpoints, retrain command."""
    c = pool.candidate(candidate_id)  # PoolError naming the id when there is none
    return {
        "id": c.id,
        "arch": c.arch,
        "lineage": c.lineage,
        "proposal": (c.info or {}).get("proposal"),
        "warm_started": "init" in (c.info or {}),
        "parent_id": c.parent_id,
        "level": c.level,
        "status": c.status,
        "epochs_trained": c.epochs_trained,
        "error": c.error,
        "proxies": pool.proxy_scores().get(c.id, {}),
        "curve": [  # validation only: the pool's test column is not read
            {k: v for k, v in r.items() if k not in ("candidate_id", "arch")} for r in curve_rows(pool, candidate_id)
        ],
        "checkpoints": [{"epoch": e, "key": k} for e, k in pool.checkpoints(c.id)],
        "retrain": retrain_command(pool, c.arch, c.id),
    }


def cell_svg(space: str, arch: str) -> bytes:
    """The cell drawn as an SVG (NB201 cell or the normal and reduction cells of a DARTS genotype)."""
    from nas_cli.plots import cell_edges, plot_cell
    from nas_core.spaces import get_space

    edges = cell_edges(get_space(space).parse(arch))
    buffer = io.BytesIO()
    plot_cell([e for ct in edges for e in _tagged(edges[ct], ct, len(edges) > 1)], buffer, fmt="svg")
    return buffer.getvalue()


def _tagged(edges: list[tuple[str, str, str]], cell_type: str, tag: bool) -> list[tuple[str, str, str]]:
    """A DARTS genotype's normal and reduction cells as one drawing: node names prefixed by the cell type."""
    if not tag:
        return edges
    return [(f"{cell_type[0]}:{s}", f"{cell_type[0]}:{d}", op) for s, d, op in edges]


def diff_run(run_dir: Path) -> dict[str, Any]:
    """A differentiable search (running or finished): per epoch the mixing weights of every edge, the skip
    connections of the argmax cell, validation accuracy and the Hessian eigenvalue when recorded."""
    from supernet.engine.diff_search import PROGRESS_FILE

    progress = run_dir / PROGRESS_FILE
    result = run_dir / "result.json"
    if progress.exists():
        data = json.loads(progress.read_text())
        history, config = data["history"], data["config"]
    elif result.exists():  # a run finished before progress.json was written
        data = json.loads(result.read_text())
        history, config = data.get("history", []), json.loads((run_dir / "config.json").read_text())["config"]
    else:
        raise FileNotFoundError(f"{run_dir} holds no differentiable search ({PROGRESS_FILE} or result.json)")
    final = json.loads(result.read_text()) if result.exists() else {}
    last = history[-1] if history else {}
    return {
        "run_dir": str(run_dir),
        "method": config.get("method"),
        "space": config.get("space"),
        "dataset": config.get("dataset"),
        "epochs": config.get("epochs"),
        "finished": bool(final),
        "genotype": final.get("genotype") or last.get("genotype"),
        "ops": _op_labels(config.get("space"), last.get("probabilities", {})),
        "history": [
            {
                "epoch": h["epoch"],
                "valid_acc": h.get("valid_acc"),
                "train_acc": h.get("train_acc"),
                "skips": h.get("skip_connections", {}),
                "eigenvalue": h.get("hessian_eigenvalue"),
                "probabilities": h.get("probabilities", {}),
            }
            for h in history
        ],
    }


def _op_labels(space: str | None, probabilities: dict[str, list[list[float]]]) -> dict[str, list[list[str]]]:
    """Per cell type and edge, the op names of its mixing-weight row (``op k`` where the row's length does
    not match the space's candidates, e.g. after P-DARTS pruned it)."""
    from nas_core.spaces import get_space
    from supernet.engine.supernet import edge_infos

    infos = {(e.cell_type, e.index): e.ops for e in edge_infos(get_space(space))} if space else {}
    out = {}
    for ct, rows in probabilities.items():
        out[ct] = [
            list(infos[(ct, i)]) if len(infos.get((ct, i), ())) == len(row) else [f"op {k}" for k in range(len(row))]
            for i, row in enumerate(rows)
        ]
    return out
