"""The plots a search's run directory carries (``nas report`` embeds every PNG it finds): the best-so-far
curve (``curve.png``), NOSH pyramid occupancy per round (``pyramid.png``) and the admission Kendall tau per
round (``ranker_tau.png``, from ``rounds.jsonl``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def pyplot():  # the non-interactive backend, chosen before pyplot is imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def read_rounds(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "rounds.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_pyramid(rounds: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Stacked bars: candidates at each NOSH level after each round (level 0 = proposed, untrained)."""
    plt = pyplot()
    levels = sorted({int(k) for r in rounds for k in r["pyramid"]})
    x = np.array([r["round"] for r in rounds])
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = np.zeros(len(rounds))
    for level in levels:
        counts = np.array([r["pyramid"].get(str(level), 0) for r in rounds], dtype=float)
        label = "level 0 (proposed)" if level == 0 else f"level {level}"
        ax.bar(x, counts, bottom=bottom, label=label)
        bottom += counts
    ax.set(xlabel="round", ylabel="candidates", title="NOSH pyramid occupancy")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ranker_tau(rounds: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Kendall tau between each round's admission scores (proxy in round 0, ranker after) and the
    level-1 accuracy the admitted candidates then reached: the ranker's out-of-sample quality. Only
    the admitted (the top of the ranking) enter, a restricted range, so tau runs lower than over
    random cells."""
    plt = pyplot()
    pts = [(r["round"], r["admission_tau"]) for r in rounds if r.get("admission_tau") is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o")
    ax.axhline(0, color="grey", lw=1, ls=":")
    ax.set(xlabel="round", ylabel="Kendall tau", title="admission ranking vs observed level-1 accuracy", ylim=(-1, 1))
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def search_plots(run_dir: str | Path) -> list[Path]:
    """``pyramid.png`` and ``ranker_tau.png`` from the run's ``rounds.jsonl`` (none without rounds)."""
    run_dir = Path(run_dir)
    rounds = read_rounds(run_dir)
    if not rounds:
        return []
    out = [run_dir / "pyramid.png", run_dir / "ranker_tau.png"]
    plot_pyramid(rounds, out[0])
    plot_ranker_tau(rounds, out[1])
    return out


def plot_curves(
    curves: dict[str, list[tuple[float, float | None]]],
    path: str | Path,
    title: str = "",
    optimum: float | None = None,
    xlabel: str = "training cost (epochs)",
    ylabel: str = "reported test accuracy (%)",
) -> None:
    """Best-so-far step curves, one per method, saved as PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, points in curves.items():
        pts = [(c, a) for c, a in points if a is not None]
        if pts:  # markers too: a one-point curve is a dot, not an empty plot
            ax.step([c for c, _ in pts], [a for _, a in pts], where="post", label=name, marker="o", markersize=3)
    if optimum is not None:
        ax.axhline(optimum, color="grey", ls=":", lw=1, label=f"optimum {optimum:.2f}")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
