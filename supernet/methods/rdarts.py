"""R-DARTS (Zela et al., ICLR 2020, "Understanding and Robustifying DARTS").

Regularisation of the inner (weight) problem, one of:
- ``l2``: a larger weight decay on the supernet weights (the paper's grid: 3e-4 x {1, 3, 9, 27}; default
  27e-4);
- ``dp``: ScheduledDropPath on every op output of the supernet, probability growing linearly to
  ``drop_path`` (grid {0.2, 0.4, 0.6}; default 0.2).
DARTS-ES early stopping on the dominant Hessian eigenvalue λ_max of ∇²_α L_val: with λ̄(i) the mean
of λ_max over the window of k=5 epochs ending at i, stop when λ̄(i - k) / λ̄(i) < T = 0.75 and return
the α of epoch i - k.
"""

from __future__ import annotations

from typing import Any

import torch

from supernet.methods.base import Method, register_method


@register_method("r-darts")
class RDarts(Method):
    paper = "Zela et al. Understanding and Robustifying Differentiable Architecture Search. ICLR 2020"
    defaults = {"hessian_every": 1}

    def __init__(
        self,
        supernet,
        regularization: str = "l2",
        weight_decay: float = 27e-4,
        drop_path: float = 0.2,
        early_stop: bool = True,
        window: int = 5,
        threshold: float = 0.75,
        **kwargs: Any,
    ):
        super().__init__(supernet, **kwargs)
        if regularization not in ("l2", "dp"):
            raise ValueError(f"regularization must be 'l2' or 'dp', got {regularization!r}")
        self.regularization, self.weight_decay, self.drop_path = regularization, weight_decay, drop_path
        self.early_stop, self.window, self.threshold = early_stop, window, threshold
        self.stopped_at: int | None = None

    def weight_decay_override(self) -> float | None:
        return self.weight_decay if self.regularization == "l2" else None

    def on_epoch_start(self, epoch: int, epochs: int) -> bool:
        super().on_epoch_start(epoch, epochs)
        if self.regularization == "dp":
            self.supernet.set_drop_path(self.drop_path * epoch / max(epochs, 1))
        return False

    def should_stop(self, history: list[dict[str, Any]]) -> bool:
        if not self.early_stop:
            return False
        return es_trigger([h.get("hessian_eigenvalue") for h in history], self.window, self.threshold)

    def final_alphas(self, history: list[dict[str, Any]]) -> None:
        """On an early stop, roll α back to the epoch ``window`` epochs before the trigger."""
        if not self.should_stop(history):
            return
        rollback = history[-1 - self.window]
        self.stopped_at = len(history)
        with torch.no_grad():
            for ct, a in rollback["alphas"].items():
                self.alphas[ct].copy_(torch.as_tensor(a))


def es_trigger(eigenvalues: list[float | None], window: int = 5, threshold: float = 0.75) -> bool:
    """DARTS-ES: λ̄(i - k) / λ̄(i) < T for the window means ending at the last epoch i and at i - k."""
    values = [v for v in eigenvalues if v is not None]
    if len(values) < 2 * window:
        return False
    now = sum(values[-window:]) / window
    before = sum(values[-2 * window : -window]) / window
    return now > 0 and before / now < threshold
