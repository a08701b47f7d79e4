"""The benchmark tables a lookup backend reads, and how a finished search is reported.

Two kinds of object, kept apart by construction (the honest protocol of ``shared/data/README.md``):

- an :class:`Evaluator` is a table of *validation* accuracies at epoch budgets that says what reaching a
  budget costs; it has no way to return a test accuracy. A search never holds one directly: it reaches it
  through :class:`predictor_nas.backends.TabularBackend` (``Backend.train``, the one "train to epoch e"
  interface, which real training implements too).
- a :class:`TestReporter` returns the test accuracy of an architecture. Only the final report makes
  one, after the search has returned its architecture (:func:`predictor_nas.incumbent.report`).

Implementations:

- :class:`TabularNB201Evaluator` observes the 12-epoch validation (mini-bench) at budget 12 and the
  200-epoch validation of NAS-Bench-201 v1_0 at budget 200; :class:`NB201TestReporter` reports the
  200-epoch test accuracy of the same file. A 12-epoch entry is its own 12-epoch schedule, so
  "resuming" it to 200 epochs has no real meaning: by default a 200-epoch observation is charged the
  full 200 epochs. ``discount_resume=True`` charges the difference (188) instead -- a simulation
  artefact that every result using it must be labelled with (``charging = "discounted"``).
- :class:`NatsBenchEvaluator` / :class:`NatsBenchTestReporter`: the same split on the official
  NATS-Bench files through the ``nats_bench`` package (any budget of one 200-epoch curve, so resuming
  is real there).
- real training through a pool: :mod:`predictor_nas.backends`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nas_core.spaces import get_space
from predictor_nas.tables import load_test, load_validation


def epochs_charged(trained_to: int, epoch: int, resumes: bool) -> int:
    """Epochs it costs to bring a candidate trained to ``trained_to`` to ``epoch``: the difference
    when training resumes, the whole ``epoch`` when each budget is its own schedule."""
    if epoch <= trained_to:
        return 0
    return epoch - trained_to if resumes else epoch


class Evaluator(Protocol):
    """Train architectures to epoch budgets and observe their validation accuracy -- nothing else."""

    budgets: tuple[int, ...]
    resumes: bool  # True: reaching e2 from e1 costs e2 - e1; False: each budget costs itself in full
    charging: str  # the label results carry: "full", "discounted" (a table's resume artefact) or "resumed"

    def observe(self, arch: Any, epoch: int) -> float:
        """The validation accuracy of ``arch`` trained to ``epoch`` (one of ``budgets``)."""


class TestReporter(Protocol):
    """The test accuracy of an architecture: for the final report, never an input to a search."""

    def report(self, arch: Any) -> float: ...


@dataclass
class CostLedger:
    """Epochs charged per architecture (see :func:`epochs_charged`)."""

    resumes: bool = False
    trained_to: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def cost(self, key: str, epoch: int) -> int:
        return epochs_charged(self.trained_to.get(key, 0), epoch, self.resumes)

    def charge(self, key: str, epoch: int) -> int:
        cost = self.cost(key, epoch)
        self.trained_to[key] = max(self.trained_to.get(key, 0), epoch)
        self.total += cost
        return cost


class TabularNB201Evaluator:
    """NAS-Bench-201 validation lookups under the honest protocol; budgets (12, 200)."""

    budgets = (12, 200)

    def __init__(self, dataset: str = "cifar10", folder: str | Path | None = None, discount_resume: bool = False):
        self.validation = load_validation(dataset, str(folder) if folder else None)
        self.space = get_space("nb201")
        self.dataset = dataset
        self.resumes = discount_resume
        self.charging = "discounted" if discount_resume else "full"

    def observe(self, arch: Any, epoch: int) -> float:
        i = self.space.index(arch)
        if epoch == 12:
            return float(self.validation.val12[i])
        if epoch == 200:
            return float(self.validation.val200[i])
        raise ValueError(
            f"the tabular NAS-Bench-201 evaluator observes budgets {self.budgets}, not epoch {epoch}; "
            f"other budgets need real training or the official NATS-Bench files"
        )


class NB201TestReporter:
    """The 200-epoch test accuracy of NAS-Bench-201 v1_0 (the file the 200-epoch validation comes from)."""

    def __init__(self, dataset: str = "cifar10", folder: str | Path | None = None):
        self.table = load_test(dataset, str(folder) if folder else None)
        self.space = get_space("nb201")
        self.dataset = dataset

    @property
    def optimum(self) -> float:
        return self.table.optimum

    def report(self, arch: Any) -> float:
        return float(self.table.test200[self.space.index(arch)])


def _nats_api(path: str | None) -> Any:
    try:
        from nats_bench import create
    except ImportError:
        raise ImportError(
            "the NATS-Bench evaluator needs the nats_bench package (pip install nats_bench) "
            "and the NATS-tss benchmark files"
        ) from None
    return create(path, "tss", fast_mode=True, verbose=False)


class NatsBenchEvaluator:
    """The official NATS-Bench topology files (``pip install nats_bench``, set ``$TORCH_HOME``).

    Observes the validation accuracy of the 200-epoch schedule at any epoch budget (``hp='200'``,
    one seed): one learning curve, so resuming is real (``resumes = True``). Needs the benchmark
    archive, which is not shipped here.
    """

    resumes = True
    charging = "resumed"

    def __init__(self, dataset: str = "cifar10", path: str | None = None, seed: int | None = 777, api: Any = None):
        self.api = api if api is not None else _nats_api(path)
        self.dataset, self.seed = dataset, seed
        self.space = get_space("nb201")
        self.budgets = tuple(range(1, 201))
        # CIFAR-10's validation curve belongs to the 'cifar10-valid' runs (train split, x-valid split)
        self._valid_dataset = "cifar10-valid" if dataset == "cifar10" else dataset

    def observe(self, arch: Any, epoch: int) -> float:
        if not 1 <= epoch <= 200:
            raise ValueError(f"NATS-Bench budgets are epochs 1..200, got {epoch}")
        index = self.space.index(arch)
        info = self.api.get_more_info(index, self._valid_dataset, iepoch=epoch - 1, hp="200", is_random=self.seed)
        return float(info["valid-accuracy"])


class NatsBenchTestReporter:
    """The seed-mean 200-epoch test accuracy of the official NATS-Bench files."""

    def __init__(self, dataset: str = "cifar10", path: str | None = None, api: Any = None):
        self.api = api if api is not None else _nats_api(path)
        self.dataset = dataset
        self.space = get_space("nb201")

    def report(self, arch: Any) -> float:
        info = self.api.get_more_info(self.space.index(arch), self.dataset, hp="200", is_random=False)
        return float(info["test-accuracy"])
