"""Run directories: every run records its resolved configuration, seed, library versions, device and
git commit next to its results, so it can be reproduced."""

from __future__ import annotations

import json
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from scripts.provenance import git_commit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("torch", "torchvision", "torch-geometric", "optuna", "scikit-learn", "sqlalchemy", "numpy")


def environment() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.node(),
        "device": device,
        "packages": versions,
        "git_commit": git_commit(mark_dirty=False),
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def changed_settings(out: Path, config: dict[str, Any], ignore: tuple[str, ...]) -> list[str]:
    """``key: old -> new`` for every setting of ``config`` that differs from ``out/config.json``'s."""
    path = out / "config.json"
    if not path.exists():
        return []
    old = _flatten(json.loads(path.read_text())["config"])
    new = _flatten(json.loads(json.dumps(config, default=str)))
    keys = sorted(k for k in old.keys() | new.keys() if not k.startswith(ignore) and old.get(k) != new.get(k))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys]


def prepare_run_dir(
    out: str | Path, command: str, config: dict[str, Any], resume_ignores: tuple[str, ...] | None = None
) -> Path:
    """Create ``out`` and write ``config.json`` (the resolved config and the environment).

    ``resume_ignores``: for a command whose run directory resumes (``nas rank-nosh``), a run directory
    made with other settings is an error naming each changed one (keys starting with one of these
    prefixes may change), never a silent rewrite."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from pools.pool import redact

    if resume_ignores is not None:
        changed = changed_settings(out, json.loads(redact(json.dumps(config, default=str))), resume_ignores)
        if changed:
            raise ValueError(
                f"{out} holds a {command} run made with other settings ({'; '.join(changed)}); rerun with the "
                "same settings to resume it, or give another --out to start a new run"
            )

    record = {"command": command, "config": config, "environment": environment(), "started_at": time.time()}
    # a pool URL's password never reaches the run directory
    (out / "config.json").write_text(redact(json.dumps(record, indent=2, default=str)))
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
