"""The searches under a folder or in a pool, with their state and best result -- what ``optuna studies``
and ``nnictl experiment list`` show (``nas runs PATH``, :func:`list_runs`).

A run directory is a folder holding ``config.json`` (written by every ``nas`` command), a differentiable
search's ``progress.json``, or a pool file ``pool.db``. Its state: ``finished`` (``result.json`` is
there), ``running`` (a RANK-NOSH search holds the pool's lease, renewed within the pool's heartbeat
timeout), otherwise ``unfinished`` -- stopped or still running; a differentiable search records no
lease, so its last update time tells which. Best results are validation figures: a search's listing
never shows test accuracy.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: what marks a folder as a run directory
RUN_MARKERS = ("config.json", "progress.json", "pool.db")
SEARCH_KEY = "rank_nosh"  # predictor_nas.search.STATE_KEY (not imported: that module pulls in torch)


@dataclass
class RunSummary:
    path: str
    kind: str  # the nas command (or library call) that made it: rank-nosh, diff, hybrid, pipeline, train; or pool
    state: str  # finished, running, unfinished
    progress: str  # "round 3, 412 epochs", "epoch 12/30"
    best: str | None  # the incumbent architecture
    best_valid: float | None  # its validation accuracy (never test)
    updated: float  # Unix time of the newest file

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def search_state(pool: Any) -> dict[str, Any] | None:
    """The RANK-NOSH search's saved state in ``pool`` (round, phase, curve, rounds), None before one ran."""
    return pool.get_state(SEARCH_KEY)


def pool_summary(pool: Any, path: str | None = None, updated: float | None = None) -> RunSummary:
    """A pool's search as a :class:`RunSummary` (its lease tells whether it is running)."""
    state = search_state(pool) or {}
    lease = pool.lease(SEARCH_KEY)
    running = lease is not None and lease["age"] < pool.config.heartbeat_timeout
    curve = state.get("curve") or []
    last = curve[-1] if curve else None  # [cost, arch, validation, epoch]
    return RunSummary(
        path=path or pool.url,
        kind="pool",
        state="finished" if state.get("done") else "running" if running else "unfinished",
        progress=f"round {state.get('round', 0)}, {int(last[0]) if last else 0} epochs",
        best=last[1] if last else None,
        best_valid=last[2] if last else None,
        updated=updated if updated is not None else time.time(),
    )


def _run_summary(folder: Path) -> RunSummary:
    files = [p for p in folder.iterdir() if p.is_file()]
    updated = max((p.stat().st_mtime for p in files), default=folder.stat().st_mtime)
    config = _read_json(folder / "config.json") or {}
    result = _read_json(folder / "result.json")
    progress = _read_json(folder / "progress.json")
    kind = config.get("command") or ("diff" if progress is not None else "pool")
    summary = RunSummary(str(folder), kind, "finished" if result else "unfinished", "", None, None, updated)
    if (folder / "pool.db").exists():
        from pools import Pool

        pool = Pool.open(f"sqlite:///{(folder / 'pool.db').resolve()}")
        try:
            from_pool = pool_summary(pool, str(folder), updated)
        finally:
            pool.close()
        summary.progress, summary.best, summary.best_valid = from_pool.progress, from_pool.best, from_pool.best_valid
        if not result:
            summary.state = from_pool.state
    if progress is not None:
        history = progress.get("history") or [{}]
        summary.progress = f"epoch {progress.get('epoch', 0)}/{progress.get('config', {}).get('epochs', '?')}"
        summary.best, summary.best_valid = history[-1].get("genotype"), history[-1].get("valid_acc")
    if isinstance(result, dict):  # a finished run's own figures win (rank-nosh: best_arch / observed)
        summary.best = result.get("best_arch") or result.get("genotype") or result.get("arch") or summary.best
        if "observed" in result:
            summary.best_valid = result["observed"]
        if "n_evaluated" in result:  # another strategy (random, REA, TPE, ...): no RANK-NOSH rounds
            summary.progress = f"{result['n_evaluated']} cells, {result['cost_epochs']} epochs"
        elif "train_config" in result:  # a retraining (`nas train`, a pipeline's final networks)
            summary.best_valid = result.get("valid_accuracy")  # None when every training image trained it
            summary.progress = f"epoch {len(result.get('history', []))}/{result['train_config'].get('epochs', '?')}"
    return summary


def list_runs(where: str | Path) -> list[RunSummary]:
    """Every run directory under folder ``where`` (itself included), newest first; or, for a pool URL
    (``sqlite:///...``, ``postgresql://...``), the search in that pool."""
    if isinstance(where, str) and "://" in where:
        from pools import Pool

        pool = Pool.open(where)
        try:
            return [pool_summary(pool)]
        finally:
            pool.close()
    root = Path(where)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder of runs (nor a pool URL such as sqlite:///path/pool.db)")
    folders = {p.parent for marker in RUN_MARKERS for p in root.rglob(marker)}
    return sorted((_run_summary(f) for f in folders), key=lambda r: r.updated, reverse=True)


def format_runs(runs: list[RunSummary]) -> str:
    """A table for the terminal: path, kind, state, progress, best validation, best architecture."""
    if not runs:
        return "no runs found"
    lines = [f"{'state':<11} {'kind':<10} {'progress':<22} {'valid':>6}  path / best architecture"]
    for r in runs:
        valid = f"{r.best_valid:6.2f}" if r.best_valid is not None else "     -"
        lines.append(f"{r.state:<11} {r.kind:<10} {r.progress:<22} {valid}  {r.path}")
        if r.best:
            lines.append(f"{'':<53}{r.best}")
    return "\n".join(lines)
