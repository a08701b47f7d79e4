"""Retrainings reused across runs (issue 44): a retraining is fully determined by its network, its data,
its recipe, its seed, the device and thread count it trains on, this package's code and the library
versions. :class:`RetrainCache` keys a finished retraining by all of them and hands its result (and exported
model) to a later run whose inputs are all equal, instead of training again; change any one and the key
changes, so the network is retrained.

The data enter as a fingerprint of the images and labels themselves (not of a path), the code as a hash
of every source file of :mod:`nas_core` (networks, ops, data, trainer), the libraries as their versions.
``NAS_RETRAIN_CACHE`` moves the cache (default ``~/.cache/nas-suite/retrain``, i.e. ``$XDG_CACHE_HOME``);
``NAS_RETRAIN_CACHE=off`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch

import nas_core
from nas_core.data.datasets import cache_dir, load_dataset

#: files of a retraining's run directory that a cache entry keeps (the checkpoint is not needed to reuse it)
KEPT = ("result.json", "model.pt2", "genotype.json", "config.json")


@cache
def code_fingerprint(root: Path = Path(nas_core.__file__).parent) -> str:
    """A hash of every source file under ``root`` (default :mod:`nas_core`; path and content): any change to
    the networks, ops, data pipeline or trainer gives another key."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@cache
def data_fingerprint(dataset: str, data_root: str | None, image_size: int = 32) -> str:
    """A hash of the dataset's training and test images and labels as loaded (the same files under
    another path give the same fingerprint; a changed file another)."""
    digest = hashlib.sha256()
    for part in load_dataset(dataset, data_root, image_size):
        digest.update(part.images.contiguous().numpy().tobytes())
        digest.update(part.labels.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def environment(device: torch.device, threads: int | None = None) -> dict[str, Any]:
    """What else decides a retraining's numbers: the device (a GPU by name), the CPU thread count (``threads``,
    default this process's), the code and the library versions."""
    import numpy
    import torchvision

    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": (threads or torch.get_num_threads()) if device.type == "cpu" else None,
        "code": code_fingerprint(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class RetrainCache:
    """Finished retrainings in ``root/KEY/`` (:data:`KEPT` files and ``inputs.json``)."""

    root: Path

    @classmethod
    def default(cls) -> RetrainCache | None:
        """``$NAS_RETRAIN_CACHE`` (``off``: None), else ``~/.cache/nas-suite/retrain``."""
        where = os.environ.get("NAS_RETRAIN_CACHE", "")
        if where.lower() == "off":
            return None
        return cls(Path(where) if where else cache_dir() / "retrain")

    @staticmethod
    def key(inputs: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:24]

    def get(self, inputs: dict[str, Any], run_dir: Path) -> dict[str, Any] | None:
        """The cached result of ``inputs`` copied into ``run_dir`` (its files too), or None on a miss.
        The result's ``exported`` then names ``run_dir``'s model, and ``cached`` says where it came from."""
        entry = self.root / self.key(inputs)
        if not (entry / "result.json").exists():
            return None
        run_dir.mkdir(parents=True, exist_ok=True)
        for name in KEPT:
            if (entry / name).exists():
                shutil.copyfile(entry / name, run_dir / name)
        result = json.loads((run_dir / "result.json").read_text())
        if "exported" in result:
            result["exported"] = str(run_dir / "model.pt2")
        result["cached"] = str(entry)
        return result

    def put(self, inputs: dict[str, Any], run_dir: Path) -> Path:
        """Store ``run_dir``'s finished retraining under ``inputs``' key (atomically: a half-written entry is
        never read); an entry already there is kept."""
        entry = self.root / self.key(inputs)
        if (entry / "result.json").exists():
            return entry
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
        for name in KEPT:
            if (run_dir / name).exists():
                shutil.copyfile(run_dir / name, staging / name)
        (staging / "inputs.json").write_text(json.dumps(inputs, indent=2, sort_keys=True, default=str))
        try:
            staging.rename(entry)
        except OSError:  # another process stored the same retraining first
            shutil.rmtree(staging, ignore_errors=True)
        return entry
