"""scripts/bench_hybrid.py's merge pairs each arm with RANK-NOSH by seed and Holm-adjusts over the arms."""

from __future__ import annotations

import json

import pytest

from scripts import bench_hybrid


def _run(arm: str, seed: int, test: float) -> dict:
    supernets = (
        []
        if arm in ("rank-nosh", "random")
        else [
            {
                "method": "drnas",
                "epochs": 2,
                "charged_epochs": 16.0,
                "cost_ratio": {"ratio": 8.0},
                "search_seconds": 60.0,
            }
        ]
    )
    return {
        "arm": arm,
        "seed": seed,
        "budget": 60.0,
        "final": {"test_acc": test},
        "found": {"arch": f"a{seed}", "epoch": 27},
        "lineage": "drnas" if supernets else "random",
        "total_epochs": 60.0,
        "total_epochs_1to1": 46.0,
        "supernet_charged_epochs": 16.0 if supernets else 0.0,
        "search_seconds": 100.0,
        "supernet_seconds": 60.0 if supernets else 0.0,
        "supernets": supernets,
        "settings": {},
        "timeline": [[10.0, 5, 70.0], [50.0, 40, 72.0 + seed]],
    }


def test_merge_pairs_by_seed_and_adjusts_over_arms(tmp_path):
    folder = tmp_path / "b60"
    folder.mkdir()
    base = {0: 80.0, 1: 81.0, 2: 79.0, 3: 82.0}
    rows = [_run("rank-nosh", s, v) for s, v in base.items()]
    rows += [_run("hybrid", s, v + 0.5 + 0.01 * s) for s, v in base.items()]  # a steady gain
    rows += [_run("random", s, v - 0.2 * (-1) ** s) for s, v in list(base.items())[:3]]  # 3 seeds only
    for r in rows:
        (folder / f"{r['arm']}_s{r['seed']}.json").write_text(json.dumps(r))
    summary = bench_hybrid.merge(tmp_path, tmp_path / "merged.json")
    table = {r["arm"]: r for r in summary["budgets"]["60"]["table"]}
    hybrid, rand = table["hybrid"]["vs_rank_nosh"], table["random"]["vs_rank_nosh"]
    assert hybrid["n"] == 4 and hybrid["diff"] == pytest.approx(0.515)
    assert rand["n"] == 3  # paired on the seeds both finished
    assert hybrid["p"] < 0.001 and hybrid["ci95"][0] > 0
    ps = sorted([hybrid["p"], rand["p"]])
    assert sorted([hybrid["p_holm"], rand["p_holm"]]) == pytest.approx([min(1, 2 * ps[0]), max(2 * ps[0], ps[1])])
    assert summary["cost_ratio"]["drnas"]["mean"] == 8.0 and (tmp_path / "merged.png").exists()
    power = summary["budgets"]["60"]["power"]
    assert power["hybrid"]["paired_sd"] == pytest.approx(hybrid["sd"]) and power["hybrid"]["seeds_needed"] >= 2
