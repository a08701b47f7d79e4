"""The differentiable search in one call: ``differentiable_search("darts", selection="pt", ...)``.

A thin, typed front to :class:`supernet.engine.diff_search.DiffSearch`: the settings are
:class:`~supernet.engine.diff_search.DiffSearchConfig`'s fields (defaults: DARTS's published CIFAR-10 search,
then the method's own paper overrides, then what you pass), the result carries the genotype, the per-epoch
α history and the trained supernet, and the proposals a RANK-NOSH pool takes from it
(:meth:`predictor_nas.study.Study.propose`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nas_core.presets import NETWORKS
from supernet.engine.diff_search import DiffSearch, DiffSearchConfig, DiffSearchResult
from supernet.methods import Method, get_method

#: ``preset="quick"``: a CPU-sized search (minutes on 2 cores); each method adds its ``quick_options``
QUICK_SEARCH: dict[str, Any] = dict(epochs=10, network=NETWORKS["quick"], max_train=4000, batch_size=64)
PRESETS = ("paper", "quick")


@dataclass
class DifferentiableRun:
    """A finished differentiable search: ``result`` (genotype, history, selection log, cost) and the
    ``search`` whose supernet and α it trained."""

    search: DiffSearch
    result: DiffSearchResult

    @property
    def genotype(self) -> str:
        return self.result.genotype

    @property
    def method(self) -> str:
        return self.result.method

    @property
    def supernet(self) -> Any:
        return self.search.supernet

    @property
    def supernet_epochs(self) -> int:
        """Epochs the supernet trained (search and DARTS-PT tuning): what a hybrid search charges."""
        return int(self.result.cost["supernet_epochs"])

    @property
    def alpha_history(self) -> list[dict[str, list[list[float]]]]:
        """Per epoch, the op probabilities of every edge (``{"normal": [[p_op, ...] per edge], ...}``)."""
        return [entry["probabilities"] for entry in self.result.history]

    def proposals(self, samples: int = 10, seed: int = 0) -> list[Any]:
        """Architectures for a RANK-NOSH pool: the selected cell, ``samples`` draws from the learned
        distribution and the PT runner-ups (:func:`supernet.engine.proposals.proposals_from_search`)."""
        from supernet.engine.proposals import proposals_from_search

        return proposals_from_search(self.search, self.result, samples=samples, seed=seed)


def search_config(
    method: str | type[Method] = "darts", *, selection: str = "magnitude", preset: str = "paper", **settings: Any
) -> DiffSearchConfig:
    """The resolved configuration: the paper defaults (or ``preset="quick"``), then ``settings``."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    name = method if isinstance(method, str) else method.name
    if not isinstance(method, str) and get_method(name) is not method:
        raise ValueError(f"method class {method.__name__} is not registered (decorate it with @register_method)")
    values: dict[str, Any] = dict(QUICK_SEARCH) if preset == "quick" else {}
    options = dict(get_method(name).quick_options) if preset == "quick" else {}
    options.update(settings.pop("method_options", None) or {})
    values.update(settings)
    return DiffSearchConfig.resolve(method=name, selection=selection, method_options=options, **values)


def differentiable_search(
    method: str | type[Method] | DiffSearchConfig = "darts",
    *,
    selection: str = "magnitude",
    preset: str = "paper",
    run_dir: str | Path | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    limit: Any = None,
    **settings: Any,
) -> DifferentiableRun:
    """Run (or, with the same ``run_dir``, resume) one differentiable search and select its architecture.

    ``method``: a registered name (``supernet.methods.method_names()``), a registered
    :class:`~supernet.methods.Method` class, or a full :class:`DiffSearchConfig`. ``preset``: ``paper``
    (the default: the method's published search) or ``quick`` (CPU-sized; ``nas diff``'s default);
    docs/configuration.md lists every field of both. ``selection``:
    ``magnitude`` (argmax α) or ``pt`` (DARTS-PT's perturbation selection). ``settings``: any
    :class:`DiffSearchConfig` field (``space``, ``dataset``, ``epochs``, ``network``, ``w_lr``, ``a_lr``,
    ``method_options``, ``device``, ...); ``dataset`` may be the data itself ((images, labels), a torch
    ``Dataset`` or a (train, test) pair), checked and written to ``data_root`` or ``run_dir/data-<hash>.npz``
    first. ``on_epoch(entry)`` receives each epoch's record (valid accuracy,
    probabilities, genotype, skip count, eigenvalue when measured). ``limit``: a
    :class:`predictor_nas.CostLimit`; the selected cell is brought under it by swapping ops, the swap that
    gives up least probability per unit of cost first (the search's network size prices ``params``/``flops``)."""
    if isinstance(method, DiffSearchConfig):
        if settings or selection != "magnitude" or preset != "paper":
            raise ValueError("pass either a DiffSearchConfig or settings, not both")
        config = method
    else:
        if not isinstance(settings.get("dataset", ""), str):
            from nas_core.data import write_user_data

            written = write_user_data(settings["dataset"], run_dir, settings.get("data_root"))
            settings = {**settings, "dataset": "npz", "data_root": written}
        config = search_config(method, selection=selection, preset=preset, **settings)
    search = DiffSearch(config, run_dir=run_dir, on_epoch=on_epoch, limit=limit)
    return DifferentiableRun(search, search.run())
