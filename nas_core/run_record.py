"""A run directory's record: its ``config.json`` holds the command, the resolved configuration, the
environment (library versions, device, git commit) and the start time, so the run can be reproduced. The
library writes it (:class:`predictor_nas.study.Study`, :func:`supernet.retrain`), the CLI the same."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "torchvision", "torch-geometric", "optuna", "scikit-learn", "sqlalchemy", "numpy")


def git_commit(mark_dirty: bool = True) -> str | None:
    """The checkout's commit, with ``+dirty`` (``mark_dirty``) when tracked files differ from it; None
    outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
        dirty = mark_dirty and subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT, timeout=5).returncode != 0
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+dirty" if dirty else "")) or None


def environment() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.node(),
        "device": device,
        "packages": versions,
        "git_commit": git_commit(mark_dirty=False),
    }


def write_run_config(out: str | Path, command: str, config: dict[str, Any], keep: bool = False) -> Path:
    """Write ``out/config.json``: ``command`` (the ``nas`` command, or its library twin), ``config`` and the
    environment; with ``keep`` an existing record is left as it is (the CLI's, written first, wins)."""
    path = Path(out) / "config.json"
    if keep and path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"command": command, "config": config, "environment": environment(), "started_at": time.time()}
    path.write_text(json.dumps(record, indent=2, default=str))
    return path
