"""Run directories: every run records its resolved configuration, seed, library versions, device and
git commit next to its results, so it can be reproduced."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "torchvision", "torch-geometric", "optuna", "scikit-learn", "sqlalchemy", "numpy")


def environment() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.node(),
        "device": device,
        "packages": versions,
        "git_commit": commit,
    }


def prepare_run_dir(out: str | Path, command: str, config: dict[str, Any]) -> Path:
    """Create ``out`` and write ``config.json`` (the resolved config and the environment)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"command": command, "config": config, "environment": environment(), "started_at": time.time()}
    (out / "config.json").write_text(json.dumps(record, indent=2, default=str))
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, points in curves.items():
        pts = [(c, a) for c, a in points if a is not None]
        if pts:
            ax.step([c for c, _ in pts], [a for _, a in pts], where="post", label=name)
    if optimum is not None:
        ax.axhline(optimum, color="grey", ls=":", lw=1, label=f"optimum {optimum:.2f}")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
