"""Baseline searches on the same evaluator and epoch accounting as RANK-NOSH.

- random search; regularised evolution (REA, Real et al. AAAI 2019; population 10, tournament 3
  and one-edge mutations, the NAS-Bench-201 paper's settings);
- Optuna's TPE sampler, and TPE with Optuna's Hyperband pruner (the tool a practitioner would pick):
  a trial reports its e(1) accuracy and continues to e(L) only if the pruner lets it.

Single-fidelity baselines observe ``fidelity`` epochs (default 12: the NAS-Bench-201 paper's
protocol for its baselines). Every method reports, at any moment, the candidate with the best
observation at the highest budget observed so far (:mod:`predictor_nas.incumbent`, the rule RANK-NOSH
uses), recorded after each charge as a trajectory. The evaluator observes validation only; the test
accuracy is added after the search by :func:`predictor_nas.incumbent.report`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import optuna

from nas_core.spaces import SearchSpace
from predictor_nas.evaluators import CostLedger
from predictor_nas.incumbent import best, incumbent_key, trajectory_point, validation_curve


class BudgetExhaustedError(Exception):
    """The next observation would exceed the epoch budget."""


@dataclass
class BaselineResult:
    """What a baseline found, from validation only; :func:`predictor_nas.incumbent.report` adds the test
    accuracy (``test_accuracy``, ``test_curve``) after it has returned."""

    method: str
    best_arch: str | None
    observed: float | None
    observed_epoch: int | None
    cost_epochs: int
    n_evaluated: int
    charging: str
    trajectory: list[list[Any]] = field(default_factory=list)
    test_accuracy: float | None = None
    test_curve: list[tuple[int, float]] | None = None

    @property
    def curve(self) -> list[tuple[int, float]]:
        return validation_curve(self.trajectory)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BudgetedEvaluator:
    """Charges epochs, refuses to exceed the budget, tracks the incumbent and its trajectory."""

    def __init__(self, evaluator: Any, space: SearchSpace, budget_epochs: float):
        self.evaluator, self.space, self.budget = evaluator, space, budget_epochs
        self.ledger = CostLedger(resumes=evaluator.resumes)
        self.observed: dict[str, dict[int, float]] = {}
        self.trajectory: list[list[Any]] = []
        self._names: dict[str, str] = {}  # canonical hash -> the first string seen of that cell

    def observe(self, arch: Any, epoch: int) -> float:
        """Observe ``arch`` at ``epoch``, charged by its isomorphism class (the pool's key): an isomorph of
        a cell already trained is that cell, charged once and observed under its first name."""
        parsed = self.space.parse(arch)
        key = self._names.setdefault(self.space.canonical_hash(parsed), self.space.to_string(parsed))
        if self.ledger.total + self.ledger.cost(key, epoch) > self.budget:
            raise BudgetExhaustedError
        value = self.evaluator.observe(key, epoch)
        self.ledger.charge(key, epoch)
        self.observed.setdefault(key, {})[epoch] = value
        (incumbent,) = best(self.observed)
        self.trajectory.append(trajectory_point(self.ledger.total, incumbent, self.observed[incumbent]))
        return value

    def result(self, method: str) -> BaselineResult:
        incumbent = best(self.observed)
        arch = incumbent[0] if incumbent else None
        epoch, valid = incumbent_key(self.observed[arch]) if arch else (None, None)
        return BaselineResult(
            method,
            arch,
            valid,
            epoch,
            self.ledger.total,
            len(self.observed),
            self.evaluator.charging,
            self.trajectory,
        )


def random_search(
    evaluator: Any, space: SearchSpace, budget_epochs: float, seed: int = 0, fidelity: int = 12
) -> BaselineResult:
    rng = random.Random(seed)
    be = BudgetedEvaluator(evaluator, space, budget_epochs)
    seen: set[str] = set()
    try:
        while True:
            arch = space.sample(rng)
            h = space.canonical_hash(arch)
            if h in seen and len(seen) < space.size():
                continue
            seen.add(h)
            be.observe(arch, fidelity)
    except BudgetExhaustedError:
        pass
    return be.result("random")


def regularized_evolution(
    evaluator: Any,
    space: SearchSpace,
    budget_epochs: float,
    seed: int = 0,
    fidelity: int = 12,
    population: int = 10,
    tournament: int = 3,
) -> BaselineResult:
    rng = random.Random(seed)
    be = BudgetedEvaluator(evaluator, space, budget_epochs)
    pop: deque[tuple[Any, float]] = deque()
    try:
        while len(pop) < population:
            arch = space.sample(rng)
            pop.append((arch, be.observe(arch, fidelity)))
        while True:
            parent = max(rng.sample(list(pop), tournament), key=lambda p: p[1])[0]
            child = space.mutate(parent, rng)
            pop.append((child, be.observe(child, fidelity)))
            pop.popleft()
    except BudgetExhaustedError:
        pass
    return be.result("rea")


def _suggest(trial: optuna.Trial, space: SearchSpace) -> Any:
    """A cell of an NB201-style space from one categorical choice per edge (TPE's native encoding)."""
    from nas_core.spaces.nb201 import NB201Cell

    if space.family != "nb201":
        raise ValueError(f"the Optuna baselines are defined on NB201-style cell spaces, not {space.name!r}")
    return NB201Cell(tuple(trial.suggest_categorical(f"edge_{a}_{b}", list(space.ops)) for a, b in space.edges))


def tpe(evaluator: Any, space: SearchSpace, budget_epochs: float, seed: int = 0, fidelity: int = 12) -> BaselineResult:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    be = BudgetedEvaluator(evaluator, space, budget_epochs)
    while True:
        trial = study.ask()
        try:
            value = be.observe(_suggest(trial, space), fidelity)
        except BudgetExhaustedError:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        study.tell(trial, value)
    return be.result("tpe")


def tpe_hyperband(
    evaluator: Any,
    space: SearchSpace,
    budget_epochs: float,
    seed: int = 0,
    budgets: tuple[int, ...] = (12, 200),
    pruner: str = "hyperband",
) -> BaselineResult:
    """TPE with a multi-fidelity pruner: each trial reports at every budget until pruned."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruners: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
        "hyperband": lambda: optuna.pruners.HyperbandPruner(
            min_resource=budgets[0], max_resource=budgets[-1], reduction_factor=3
        ),
        "sha": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=budgets[0], reduction_factor=3),
    }
    # Hyperband assigns trials to brackets by a hash of the study name: a fixed name keeps a seed's run
    # reproducible (Optuna's default name is a random UUID)
    study = optuna.create_study(
        study_name=f"tpe+{pruner}-seed{seed}",
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruners[pruner](),
    )
    be = BudgetedEvaluator(evaluator, space, budget_epochs)
    exhausted = False
    while not exhausted:
        trial = study.ask()
        arch = _suggest(trial, space)
        state, value = optuna.trial.TrialState.COMPLETE, None
        for epoch in budgets:
            try:
                value = be.observe(arch, epoch)
            except BudgetExhaustedError:
                exhausted = True
                state = optuna.trial.TrialState.FAIL if value is None else optuna.trial.TrialState.PRUNED
                break
            trial.report(value, epoch)
            if epoch != budgets[-1] and trial.should_prune():
                state = optuna.trial.TrialState.PRUNED
                break
        study.tell(trial, value if state == optuna.trial.TrialState.COMPLETE else None, state=state)
    return be.result(f"tpe+{pruner}")
