"""The PNG plots a run directory carries (``nas report`` embeds every PNG it finds).

Search runs: :mod:`predictor_nas.plots` (the library draws them into a study's run directory).
Differentiable runs: the mixing-weight evolution of every edge, skip connections per epoch (the
DARTS-collapse signal), and the found cell drawn as a graph (``cell_<type>.png``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from predictor_nas.plots import pyplot


def plot_weight_evolution(
    history: Sequence[dict[str, Any]], edges: Sequence[Any], cell_type: str, path: str | Path
) -> None:
    """One heatmap per edge: the method's mixing weights (ops x epochs). Epochs where an edge had
    fewer ops (P-DARTS pruning) show blank cells."""
    plt = pyplot()
    n = len(edges)
    cols = min(n, 7)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols + 1.2, 2.4 * rows + 0.7), squeeze=False)
    for e, edge in enumerate(edges):
        ax = axes[e // cols][e % cols]
        per_epoch = [h["probabilities"][cell_type][e] for h in history if e < len(h["probabilities"][cell_type])]
        width = max(len(p) for p in per_epoch)
        grid = np.full((width, len(per_epoch)), np.nan)
        for t, p in enumerate(per_epoch):
            grid[: len(p), t] = p
        low, high = np.nanmin(grid), np.nanmax(grid)
        ax.imshow(grid, aspect="auto", cmap="viridis", vmin=low, vmax=max(high, low + 1e-9))
        labels = list(edge.ops) if len(edge.ops) == width else [str(i) for i in range(width)]
        ax.set_yticks(range(width), labels if e % cols == 0 else [""] * width, fontsize=6)
        ax.set_title(f"{edge.src}->{edge.dst}  [{low:.2f}, {high:.2f}]", fontsize=7)
        ax.set_xlabel("epoch", fontsize=7)
        ax.tick_params(axis="x", labelsize=6)
    for e in range(n, rows * cols):
        axes[e // cols][e % cols].axis("off")
    fig.suptitle(f"{cell_type} cell: mixing weights per edge over the search (colour scale per edge: [min, max])")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_skip_connections(history: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Skip connections in the argmax cell per epoch (the DARTS-collapse signal)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for ct in history[0]["skip_connections"]:
        ax.plot([h["epoch"] for h in history], [h["skip_connections"][ct] for h in history], marker="o", label=ct)
    ax.set(xlabel="epoch", ylabel="skip connections in the argmax cell", title="skip connections per epoch")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_cyclic(history: Sequence[dict[str, Any]], path: str | Path) -> None:
    """CDARTS / ICDARTS per epoch: training accuracy of S and of E (joint epoch and warm-up), and the
    expected latency P(α) when the latency penalty is on."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (
        ("train_acc", "S (search network)"),
        ("eval_net_train_acc", "E, joint epoch"),
        ("warmup_net_train_acc", "E, warm-up"),
    ):
        points = [(h["epoch"], h[key]) for h in history if h.get(key) is not None]
        if points:
            ax.plot(*zip(*points), marker="o", label=label)
    ax.set(xlabel="epoch", ylabel="training accuracy (%)", title="search and evaluation networks")
    ax.legend(fontsize=8, loc="lower left")
    latency = [(h["epoch"], h["expected_latency"]) for h in history if h.get("expected_latency") is not None]
    if latency:
        twin = ax.twinx()
        twin.plot(*zip(*latency), color="#a61c00", linestyle="--", label="expected latency P(α)")
        twin.set_ylabel("expected latency P(α)")
        twin.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cell_edges(arch: Any) -> dict[str, list[tuple[str, str, str]]]:
    """``{cell type: [(from, to, op), ...]}`` of an NB201 cell or a DARTS genotype (``none`` dropped)."""
    from nas_core.spaces.darts import Genotype
    from nas_core.spaces.nb201 import NB201Cell

    if isinstance(arch, NB201Cell):
        return {"normal": [(str(s), str(d), op) for (s, d), op in zip(arch.edges, arch.ops) if op != "none"]}
    if isinstance(arch, Genotype):
        out = {}
        for ct in ("normal", "reduce"):
            names = {0: "c_{k-2}", 1: "c_{k-1}"}
            node_of = arch.node_of(ct)  # two inputs per node, or j + 2 in XDARTS cells
            edges = [
                (names.get(src, str(src - 2)), str(node_of[i]), op) for i, (op, src) in enumerate(getattr(arch, ct))
            ]
            edges += [(str(node - 2), "c_{k}", "concat") for node in getattr(arch, f"{ct}_concat")]
            out[ct] = edges
        return out
    raise TypeError(f"cannot draw {type(arch).__name__}; expected an NB201Cell or a DARTS Genotype")


def plot_cell(edges: Sequence[tuple[str, str, str]], path: Any, title: str = "", fmt: str | None = None) -> None:
    """The cell as a left-to-right DAG: nodes placed by topological layer (networkx), edges that
    skip layers drawn as arcs, each labelled with its operation. ``path``: a file name or a binary file
    (then ``fmt``, e.g. ``"svg"``)."""
    import networkx as nx

    plt = pyplot()
    graph = nx.MultiDiGraph()
    graph.add_edges_from((src, dst) for src, dst, _ in edges)
    pos: dict[str, tuple[float, float]] = {}
    for layer, nodes in enumerate(nx.topological_generations(graph)):
        for j, node in enumerate(sorted(nodes)):
            pos[node] = (2.0 * layer, 1.2 * (j - (len(nodes) - 1) / 2))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    seen: dict[tuple[str, str], int] = {}
    for src, dst, op in edges:
        k = seen[(src, dst)] = seen.get((src, dst), -1) + 1
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        span = abs(x1 - x0) / 2.0  # layers crossed; neighbours are straight, longer edges arc upwards
        rad = -(0.3 * (span - 1) + 0.25 * k) * (1 if k % 2 == 0 else -1)
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops=dict(
                arrowstyle="-|>",
                color="#bbb" if op == "concat" else "#444",
                shrinkA=14,
                shrinkB=14,
                connectionstyle=f"arc3,rad={rad}",
            ),
        )
        if op == "concat":  # the output node concatenates the intermediate nodes: no label needed
            continue
        dx, dy = x1 - x0, y1 - y0  # label at the apex of the quadratic arc
        ax.text(
            (x0 + x1) / 2 + rad * dy / 2,
            (y0 + y1) / 2 - rad * dx / 2,
            op,
            fontsize=7,
            ha="center",
            va="center",
            color="#a61c00",
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8),
        )
    for node, (x, y) in pos.items():
        ax.scatter([x], [y], s=900, color="#cfe2f3", zorder=3)
        ax.text(x, y, node, ha="center", va="center", fontsize=8, zorder=4)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 1.5, max(ys) + 0.3 * max(xs) + 1.0)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format=fmt)
    plt.close(fig)


def diff_plots(run_dir: str | Path, search: Any, genotype: str) -> list[Path]:
    """Weight evolution per cell type, skip connections per epoch and the found cell(s)."""
    run_dir = Path(run_dir)
    history = search.history
    out = []
    if history:
        for ct in search.supernet.cell_types:
            path = run_dir / f"weights_{ct}.png"
            plot_weight_evolution(history, search.supernet.edges_of(ct), ct, path)
            out.append(path)
        plot_skip_connections(history, run_dir / "skip_connections.png")
        out.append(run_dir / "skip_connections.png")
        if any("eval_net_train_acc" in h for h in history):
            plot_cyclic(history, run_dir / "cyclic.png")
            out.append(run_dir / "cyclic.png")
    for ct, edges in cell_edges(search.supernet.space.parse(genotype)).items():
        path = run_dir / f"cell_{ct}.png"
        plot_cell(edges, path, title=f"found {ct} cell")
        out.append(path)
    return out
