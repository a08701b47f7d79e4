"""How a candidate gets trained to an epoch budget and reported: one protocol, several implementations.

- :class:`TabularNB201Evaluator`: the honest NAS-Bench-201 simulation protocol of
  ``shared/data/README.md`` -- a search *observes* the 12-epoch validation accuracy at budget 12 and
  the single-run 200-epoch accuracy at budget 200, and *reports* the 200-epoch seed-mean test
  accuracy of the architecture it returns. Training cost is charged in epochs (12, 200, or 188 for
  resuming a 12-epoch candidate to 200). No learning curve is invented: only those two budgets exist.
- :class:`NatsBenchEvaluator`: the same protocol on the official NATS-Bench / NAS-Bench-201 files
  through the ``nats_bench`` package, for users who have them (any budget of the 200-epoch curve).
- real training through a pool: :mod:`predictor_nas.search` (workers train candidates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from predictor_nas.tables import load_table
from supernet.spaces import get_space


class Evaluator(Protocol):
    """Train architectures to epoch budgets and report their final accuracy."""

    budgets: tuple[int, ...]

    def observe(self, arch: str, epoch: int) -> float:
        """The validation signal of ``arch`` trained to ``epoch`` (one of ``budgets``)."""

    def report(self, arch: str) -> float:
        """The accuracy a search reports for ``arch`` (never used to guide the search)."""


@dataclass
class CostLedger:
    """Epochs charged per architecture: resuming from ``e1`` to ``e2`` costs ``e2 - e1``."""

    trained_to: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def charge(self, key: str, epoch: int) -> int:
        done = self.trained_to.get(key, 0)
        cost = max(0, epoch - done)
        self.trained_to[key] = max(done, epoch)
        self.total += cost
        return cost


class TabularNB201Evaluator:
    """NAS-Bench-201 lookups under the honest protocol; budgets (12, 200)."""

    budgets = (12, 200)

    def __init__(self, dataset: str = "cifar10", folder: str | Path | None = None):
        self.table = load_table(dataset, str(folder) if folder else None)
        self.space = get_space("nb201")
        self.dataset = dataset

    def index(self, arch: Any) -> int:
        return self.space.index(arch)

    def observe(self, arch: Any, epoch: int) -> float:
        i = self.index(arch)
        if epoch == 12:
            return float(self.table.val12[i])
        if epoch == 200:
            return float(self.table.test200_single[i])
        raise ValueError(
            f"the tabular NAS-Bench-201 evaluator observes budgets {self.budgets}, not epoch {epoch}; "
            f"other budgets need real training or the official NATS-Bench files"
        )

    def report(self, arch: Any) -> float:
        return float(self.table.test200[self.index(arch)])


class NatsBenchEvaluator:
    """The official NATS-Bench topology files (``pip install nats_bench``, set ``$TORCH_HOME``).

    Observes the validation accuracy of the 200-epoch schedule at any epoch budget (``hp='200'``,
    one seed) and reports the seed-mean test accuracy. Needs the benchmark archive, which is not
    shipped here.
    """

    def __init__(self, dataset: str = "cifar10", path: str | None = None, seed: int | None = 777):
        try:
            from nats_bench import create
        except ImportError:
            raise ImportError(
                "NatsBenchEvaluator needs the nats_bench package (pip install nats_bench) "
                "and the NATS-tss benchmark files"
            ) from None
        self.api = create(path, "tss", fast_mode=True, verbose=False)
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

    def report(self, arch: Any) -> float:
        info = self.api.get_more_info(self.space.index(arch), self.dataset, hp="200", is_random=False)
        return float(info["test-accuracy"])
