"""A pool as tables, the way Optuna's ``study.trials_dataframe()`` gives a study: one row per candidate
(:func:`candidate_rows`) and one per candidate and trained epoch, its learning curve (:func:`curve_rows`),
as pandas DataFrames or CSV files (``nas pool export URL --candidates-csv F --curves-csv F``).

Test accuracy is left out on purpose: a search observes validation only (the honest protocol of
``../shared/data/README.md``); the test figure is reported once, for the final choice, by ``Study.report``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pools.pool import Pool
from pools.records import EpochRecord

CANDIDATE_COLUMNS = (
    "id",
    "arch",
    "lineage",
    "proposal",
    "warm_started",
    "parent_id",
    "level",
    "status",
    "epochs_trained",
    "valid_acc",
    "error",
    "created_at",
)
CURVE_COLUMNS = ("candidate_id", "arch", "epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")


def candidate_rows(pool: Pool, metrics: dict[int, list[EpochRecord]] | None = None) -> list[dict[str, Any]]:
    """One dict per candidate: its lineage (``random``, ``ranker``, ``mutation`` or the differentiable
    method that proposed it, with the proposal kind and whether it was warm-started from the supernet), its
    NOSH level and status, the epochs trained, its last validation accuracy, and one ``proxy_NAME`` column
    per zero-cost proxy scored in the pool. ``metrics``: ``pool.metrics()`` when the caller has it."""
    metrics, proxies = pool.metrics() if metrics is None else metrics, pool.proxy_scores()
    names = sorted({name for scores in proxies.values() for name in scores})
    rows = []
    for c in pool.candidates():
        info = c.info or {}
        last = metrics.get(c.id, [])
        row = {
            "id": c.id,
            "arch": c.arch,
            "lineage": c.lineage,
            "proposal": info.get("proposal"),
            "warm_started": "init" in info,
            "parent_id": c.parent_id,
            "level": c.level,
            "status": c.status,
            "epochs_trained": c.epochs_trained,
            "valid_acc": last[-1].valid_acc if last else None,
            "error": c.error,
            "created_at": c.created_at,
        }
        row.update({f"proxy_{n}": proxies.get(c.id, {}).get(n) for n in names})
        rows.append(row)
    return rows


def curve_rows(pool: Pool, candidate_id: int | None = None) -> list[dict[str, Any]]:
    """One dict per (candidate, epoch) recorded in the pool, in candidate then epoch order."""
    arch = {c.id: c.arch for c in pool.candidates()}
    return [
        {
            "candidate_id": cid,
            "arch": arch[cid],
            "epoch": r.epoch,
            "train_loss": r.train_loss,
            "train_acc": r.train_acc,
            "valid_loss": r.valid_loss,
            "valid_acc": r.valid_acc,
            "seconds": r.seconds,
        }
        for cid, records in pool.metrics(candidate_id).items()
        for r in records
    ]


def _dataframe(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(rows)
    return frame if rows else pd.DataFrame(columns=list(columns))


def candidates_dataframe(pool: Pool) -> Any:
    """:func:`candidate_rows` as a ``pandas.DataFrame`` (one row per candidate)."""
    return _dataframe(candidate_rows(pool), CANDIDATE_COLUMNS)


def curves_dataframe(pool: Pool) -> Any:
    """:func:`curve_rows` as a ``pandas.DataFrame`` (one row per candidate and epoch)."""
    return _dataframe(curve_rows(pool), CURVE_COLUMNS)


def csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...] = ()) -> str:
    """``rows`` as CSV with a header (``columns`` first, then any others in first-seen order)."""
    fields = list(columns)
    for row in rows:
        fields += [k for k in row if k not in fields]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(rows: list[dict[str, Any]], path: str | Path, columns: tuple[str, ...] = ()) -> Path:
    """:func:`csv_text` of ``rows`` written to ``path`` (its folder made)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(rows, columns))
    return path
