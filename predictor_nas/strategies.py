"""Search strategies behind one :class:`~predictor_nas.study.Study` surface (Optuna's ``Sampler``, Syne Tune's
``scheduler``): where candidates train is the study's backend (the tabular NAS-Bench-201, in-process
training, ``nas worker`` processes), how they are chosen is its strategy, and every strategy runs on every
backend.

    study = Study.create(training=CandidateTraining(), run_dir="runs/rea", strategy=REA())
    result = study.optimize()

:class:`RankNoshStrategy` (the default) is the RANK-NOSH loop of :mod:`predictor_nas.search`; the others are the
baselines of :mod:`predictor_nas.baselines` (their papers' settings are documented there). A strategy's
``run(study, on_progress)`` returns a result with ``best_arch``, ``observed``, ``cost_epochs``, ``curve``
and ``to_dict()``; ``get_strategy(name, **options)`` makes one by name (``nas rank-nosh --baselines``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nas_core.registry import Registry
from predictor_nas import baselines

Progress = Callable[[int, float | None], None] | None

#: observation epochs of single-fidelity strategies on the tabular benchmark: the NAS-Bench-201 paper's
#: protocol for its baselines; with real training they observe the study's top budget e(L)
TABULAR_FIDELITY = 12


@dataclass
class RankNoshStrategy:
    """RANK-NOSH (paper 004): the study's :class:`~predictor_nas.search.RankNoshConfig` drives it."""

    name = "rank-nosh"
    takes_limit = True  # samples over the limit never join the pool

    def run(self, study: Any, on_progress: Progress = None) -> Any:
        """RANK-NOSH keeps its state in the study's pool: it runs as the study's own strategy, through
        :meth:`Study.optimize` (which also takes its proxy scorer, ranker pre-training, supernet charge)."""
        if study.strategy is not self:
            raise ValueError("RANK-NOSH runs as a study's own strategy: Study.create(..., strategy=...).optimize()")
        return study.optimize(on_progress=on_progress)


@dataclass
class _Baseline:
    """A baseline of :mod:`predictor_nas.baselines` on the study's backend, budget and seed: it observes each
    architecture through a :class:`~predictor_nas.backends.PoolObserver` over ``study.backend``, the interface
    RANK-NOSH trains through, on the table as with real training."""

    name = ""
    takes_limit = True  # draws and mutations over the study's limit are drawn again (LimitedSpace)

    def fidelity(self, study: Any, given: int | None) -> int:
        """``given``, else 12 epochs on the table, else the study's top budget (where NOSH ends)."""
        if given is not None:
            return given
        return TABULAR_FIDELITY if study.tabular else max(study.config.budgets)

    def run(self, study: Any, on_progress: Progress = None, seed: int | None = None, pool: Any = None) -> Any:
        """The search on ``study``'s backend, budget and seed (``seed`` overrides it); its architectures join
        ``pool`` (default: the study's)."""
        from predictor_nas.backends import PoolObserver
        from predictor_nas.constraint import LimitedSpace

        observer = PoolObserver(pool or study.pool, study.backend, lineage=self.name, on_progress=on_progress)
        seed = study.config.seed if seed is None else seed
        space = study.pool.space if study.limit is None else LimitedSpace(study.pool.space, study.cost_of.allows)
        return self.search(observer, space, study.config.budget_epochs, seed, study)

    def search(self, evaluator: Any, space: Any, budget: float, seed: int, study: Any) -> Any:
        raise NotImplementedError


@dataclass
class RandomSearch(_Baseline):
    """Random search, each cell observed at ``fidelity`` epochs (default: see :meth:`_Baseline.fidelity`)."""

    fidelity_epochs: int | None = None
    name = "random"

    def search(self, evaluator: Any, space: Any, budget: float, seed: int, study: Any) -> Any:
        return baselines.random_search(
            evaluator, space, budget, seed=seed, fidelity=self.fidelity(study, self.fidelity_epochs)
        )


@dataclass
class REA(_Baseline):
    """Regularised evolution (Real et al. 2019): ``population`` cells, tournaments of ``tournament``."""

    population: int = 10
    tournament: int = 3
    fidelity_epochs: int | None = None
    name = "rea"

    def search(self, evaluator: Any, space: Any, budget: float, seed: int, study: Any) -> Any:
        fidelity = self.fidelity(study, self.fidelity_epochs)
        return baselines.regularized_evolution(
            evaluator,
            space,
            budget,
            seed=seed,
            fidelity=fidelity,
            population=self.population,
            tournament=self.tournament,
        )


@dataclass
class TPE(_Baseline):
    """Optuna's TPE sampler, each trial observed at ``fidelity`` epochs."""

    fidelity_epochs: int | None = None
    name = "tpe"
    takes_limit = False  # Optuna suggests every edge itself: no draw to reject

    def search(self, evaluator: Any, space: Any, budget: float, seed: int, study: Any) -> Any:
        return baselines.tpe(evaluator, space, budget, seed=seed, fidelity=self.fidelity(study, self.fidelity_epochs))


@dataclass
class TPEHyperband(_Baseline):
    """TPE with Optuna's Hyperband pruner (``pruner="sha"``: successive halving, ASHA) over ``budgets``
    (default: the study's NOSH budgets, or the table's 12 and 200 epochs)."""

    pruner: str = "hyperband"
    budgets: tuple[int, ...] | None = None
    name = "tpe+hyperband"
    takes_limit = False

    def search(self, evaluator: Any, space: Any, budget: float, seed: int, study: Any) -> Any:
        budgets = self.budgets or ((12, 200) if study.tabular else tuple(study.config.budgets))
        return baselines.tpe_hyperband(evaluator, space, budget, seed=seed, budgets=budgets, pruner=self.pruner)


@dataclass
class ASHA(TPEHyperband):
    """TPE with successive halving (Optuna's ``SuccessiveHalvingPruner``): ASHA's promotion rule."""

    pruner: str = "sha"
    name = "asha"


#: every strategy by name; each makes one from keyword options
STRATEGIES: Registry[Callable[..., Any]] = Registry("strategy", "strategies")
for _strategy in (RankNoshStrategy, RandomSearch, REA, TPE, TPEHyperband, ASHA):
    STRATEGIES.add(_strategy.name, _strategy)


def get_strategy(name: str, **options: Any) -> Any:
    """The strategy called ``name`` with ``options``; an unknown name is an error listing the known ones."""
    return STRATEGIES.get(name)(**options)
