"""The entry points of CDARTS/ICDARTS beyond one cell search (Herron 2023 dissertation).

- :func:`dynamic_space_search`: ICDARTS's tournament-style dynamic op space (Algorithm 2, ch. 4).
- :func:`macro_search`: hierarchical ICDARTS version 1 (ch. 6), the skip-input search over found cells.
- :func:`hierarchical_v2_search`: hierarchical ICDARTS version 2 (ch. 6), four cell types, then their placement.

Each resumes from its run directory, reports progress through a callback and returns what it found as a
JSON-ready dict; ``nas diff --dynamic-tiers / --macro-epochs / --macro-version`` are thin wrappers of them.
The one-cell search itself is any method's :class:`supernet.engine.diff_search.DiffSearch` (``cdarts``,
``icdarts``: :mod:`supernet.cdarts.method`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from supernet.engine.diff_search import DiffSearch, DiffSearchConfig

#: ``on_epoch(entry)`` after each epoch of a phase (``entry``: the epoch's history record)
EpochCallback = Callable[[dict[str, Any]], None]


def run_phase(
    config: DiffSearchConfig,
    epochs: int,
    make: Callable[..., Any],
    run_dir: str | Path,
    on_epoch: EpochCallback | None = None,
) -> dict[str, Any]:
    """One hierarchical phase, ``make(phase_config, on_epoch=..., run_dir=...)``, run for ``epochs`` epochs
    (``config``'s warm-up shortened to fit) and resumed from ``run_dir``. Returns its result as a dict."""
    phase_config = replace(config, epochs=epochs, warmup_epochs=min(config.warmup_epochs, epochs - 1))
    phase = make(phase_config, on_epoch=on_epoch or (lambda entry: None), run_dir=Path(run_dir))
    return asdict(phase.run())


def macro_search(
    config: DiffSearchConfig,
    genotype: str,
    epochs: int,
    run_dir: str | Path,
    on_epoch: EpochCallback | None = None,
) -> dict[str, Any]:
    """Hierarchical ICDARTS version 1: search the skip inputs of the DARTS template built from ``genotype``
    (a found cell) for ``epochs`` epochs. Returns the macro result (``skips``, its history ...)."""
    from supernet.cdarts.hierarchical import MacroSearch

    def make(cfg: DiffSearchConfig, **kw: Any) -> Any:
        return MacroSearch(genotype, cfg, **kw)

    return run_phase(config, epochs, make, run_dir, on_epoch)


def hierarchical_v2_search(
    config: DiffSearchConfig,
    macro_epochs: int,
    run_dir: str | Path,
    on_epoch: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Hierarchical ICDARTS version 2: four cell types for ``config.epochs`` epochs (micro phase, in
    ``run_dir/micro``), then their placement for ``macro_epochs`` (``run_dir/macro``). ``on_epoch(phase,
    entry)`` with phase ``"micro"`` or ``"macro"``. Returns ``{"method", "genotype" (the placed cells' JSON,
    retrainable with ``nas train --arch``), "initial_architecture", "micro", "macro"}``."""
    from supernet.cdarts.hierarchical_v2 import PlacementSearch, TypedCellSearch

    def phase_callback(phase: str) -> EpochCallback | None:
        return None if on_epoch is None else (lambda entry: on_epoch(phase, entry))

    run_dir = Path(run_dir)
    micro = run_phase(config, config.epochs, TypedCellSearch, run_dir / "micro", phase_callback("micro"))

    def make(cfg: DiffSearchConfig, **kw: Any) -> Any:
        return PlacementSearch(micro["architecture"], cfg, **kw)

    macro = run_phase(config, macro_epochs, make, run_dir / "macro", phase_callback("macro"))
    return {
        "method": "icdarts-hierarchical-v2",
        "genotype": macro["architecture"],
        "initial_architecture": micro["architecture"],
        "micro": micro,
        "macro": macro,
    }


def dynamic_space_search(
    config: DiffSearchConfig,
    tiers: int,
    o_max: int,
    run_dir: str | Path,
    on_game: Callable[[str, DiffSearch, Any], None] | None = None,
) -> tuple[dict[str, Any], DiffSearch | None]:
    """ICDARTS's tournament (Algorithm 2): 2^(T-1) + ... + 1 searches over random op sets of at most
    ``o_max`` ops per node, each game in ``run_dir/<game>/``. Returns (the final search's result with a
    ``dynamic_space`` record, the final game's search, for plots)."""
    from supernet.cdarts.dynamic_space import dynamic_search

    last: dict[str, DiffSearch] = {}

    def game_done(name: str, search: DiffSearch, result: Any) -> None:
        last["search"] = search
        if on_game is not None:
            on_game(name, search, result)

    tour = dynamic_search(config, tiers, o_max, str(run_dir), game_done)
    data = {**tour.result.to_dict(), "dynamic_space": {"tiers": tiers, "o_max": o_max, "games": tour.games}}
    return data, last.get("search")
