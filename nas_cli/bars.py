"""One tqdm bar per phase of a long command (epochs as the unit, ETA included): the search phases report
``(epochs spent, best validation)``, the training phases the epochs done."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


class PhaseBars:
    def __init__(self, disable: bool = False):
        self.disable = disable
        self.bar: tqdm | None = None

    def phase(self, name: str, total: float, done: int = 0) -> None:
        """A new bar for phase ``name`` (the previous one closes); ``done``: where a resumed phase starts."""
        self.close()
        total = int(total)
        self.bar = tqdm(total=total, initial=min(done, total), desc=name, unit="epoch", disable=self.disable)

    def at(self, n: int, **postfix: str) -> None:
        assert self.bar is not None, "phase() first"
        self.bar.n = min(int(n), self.bar.total)
        if postfix:
            self.bar.set_postfix(**postfix)
        self.bar.refresh()

    def progress(self, cost: int, valid: float | None) -> None:
        """A search's ``on_progress``: epochs spent and the incumbent's validation accuracy (None: none to show)."""
        self.at(cost, **({"best_valid": f"{valid:.2f}"} if valid is not None else {}))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> PhaseBars:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
