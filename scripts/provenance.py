"""What every benchmark JSON records about how it was made: the command, the commit, the machine (CPU
model, cores, torch version) and the seeds (``provenance(seeds)`` -> a dict for the JSON's ``meta``)."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from nas_core.run_record import git_commit

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """CPU model, usable cores, GPU (if any), torch and Python versions of this machine."""
    import torch

    from nas_core.training import usable_cpu_cores

    return {
        "host": platform.node(),
        "cpu_model": cpu_model(),
        "cores": usable_cpu_cores(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def provenance(seeds: Any, command: list[str] | None = None) -> dict[str, Any]:
    """``{"command", "commit", "machine", "seeds", "date"}`` for a benchmark JSON's ``meta``; the command
    is this process's (``python script args``) unless given."""
    argv = command if command is not None else [Path(sys.executable).name, *sys.argv]
    if command is None and argv[1:] and Path(argv[1]).is_absolute():
        argv[1] = os.path.relpath(argv[1], ROOT)
    return {
        "command": shlex.join(argv),
        "commit": git_commit(),
        "machine": machine(),
        "seeds": seeds,
        "date": time.strftime("%Y-%m-%d"),
    }
