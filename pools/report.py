"""Summaries of a pool: the NOSH pyramid, job states, and the top candidates."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pools.pool import Pool


def summary(pool: Pool, top: int = 10) -> dict[str, Any]:
    cands = pool.candidates()
    metrics = pool.metrics()
    last = {cid: recs[-1] for cid, recs in metrics.items()}

    def score(c) -> tuple[int, int, float]:
        rec = last.get(c.id)
        return (c.level, c.epochs_trained, rec.valid_acc if rec and rec.valid_acc is not None else -1.0)

    best = sorted(cands, key=score, reverse=True)[:top]
    return {
        "url": pool.url,
        "space": pool.config.space,
        "dataset": pool.config.dataset,
        "candidates": len(cands),
        "levels": dict(sorted(Counter(c.level for c in cands).items())),
        "epochs": dict(sorted(Counter(c.epochs_trained for c in cands).items())),
        "status": dict(Counter(c.status for c in cands)),
        "lineage": dict(Counter(c.lineage for c in cands)),
        "jobs": pool.count_jobs(),
        "top": [
            {
                "id": c.id,
                "arch": c.arch,
                "lineage": c.lineage,
                "level": c.level,
                "epochs": c.epochs_trained,
                "valid_acc": last[c.id].valid_acc if c.id in last else None,
            }
            for c in best
        ],
    }


def format_summary(info: dict[str, Any]) -> str:
    lines = [
        f"pool {info['url']}  space={info['space']}  dataset={info['dataset']}  candidates={info['candidates']}",
        "pyramid (level: candidates): " + ", ".join(f"{k}: {v}" for k, v in info["levels"].items()),
        "epochs trained (epochs: candidates): " + ", ".join(f"{k}: {v}" for k, v in info["epochs"].items()),
        "status: " + ", ".join(f"{k} {v}" for k, v in info["status"].items()),
        "lineage: " + ", ".join(f"{k} {v}" for k, v in info["lineage"].items()),
        "jobs: " + (", ".join(f"{k} {v}" for k, v in info["jobs"].items()) or "none"),
        "",
        f"{'id':>5} {'level':>5} {'epochs':>6} {'valid':>6}  lineage    architecture",
    ]
    for t in info["top"]:
        acc = f"{t['valid_acc']:6.2f}" if t["valid_acc"] is not None else "     -"
        lines.append(f"{t['id']:>5} {t['level']:>5} {t['epochs']:>6} {acc}  {t['lineage']:<10} {t['arch']}")
    return "\n".join(lines)
