"""The one statistics convention of every benchmark and of ``nas pipeline``'s verdict.

- spread is the **sample** standard deviation (``ddof=1``); a single value has none (``None``);
- a mean's 95 % confidence interval is Student's t interval;
- two groups are compared **two-sided**: Welch's t-test for independent groups, the paired t-test (and
  Wilcoxon's signed-rank test) for values paired by seed; the interval of the difference is the test's
  own 95 % interval;
- several comparisons are corrected by Benjamini-Hochberg (false discovery rate) or Holm (family-wise).

Every function returns a plain dict that states ``n``, the test and its sidedness, so a JSON that
stores it says how its p-value was made. The computations are scipy's (``scipy.stats``); this module
only fixes the choices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

CONFIDENCE = 0.95
SIDEDNESS = "two-sided"


def _clean(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def _interval(ci: Any) -> list[float] | None:
    low, high = float(ci.low), float(ci.high)
    return None if math.isnan(low) or math.isnan(high) else [low, high]


def summarize(values: Sequence[float | None]) -> dict[str, Any]:
    """``{"n", "mean", "sd", "ci95"}`` of ``values`` (``None`` and NaN dropped): sample standard deviation
    (ddof = 1) and Student's t 95 % interval of the mean; ``sd``/``ci95`` are ``None`` below two values."""
    from scipy.stats import ttest_1samp

    vals = _clean(values)
    out: dict[str, Any] = {"n": len(vals), "mean": float(np.mean(vals)) if vals else None, "sd": None, "ci95": None}
    if len(vals) > 1:
        out["sd"] = float(np.std(vals, ddof=1))
        out["ci95"] = (
            [out["mean"], out["mean"]]
            if out["sd"] == 0
            else _interval(ttest_1samp(vals, 0.0).confidence_interval(CONFIDENCE))
        )
    return out


def _p(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def welch(a: Sequence[float | None], b: Sequence[float | None]) -> dict[str, Any]:
    """Two-sided Welch t-test of mean(a) = mean(b) for independent groups; ``diff`` = mean(a) - mean(b)
    with its Welch-Satterthwaite 95 % interval. ``p``/``ci95`` are ``None`` when a group has fewer than
    two values or both are constant."""
    from scipy.stats import ttest_ind

    x, y = _clean(a), _clean(b)
    out: dict[str, Any] = {
        "test": "welch_t",
        "sidedness": SIDEDNESS,
        "n": [len(x), len(y)],
        "diff": float(np.mean(x) - np.mean(y)) if x and y else None,
        "p": None,
        "ci95": None,
    }
    if len(x) > 1 and len(y) > 1:
        res = ttest_ind(x, y, equal_var=False)
        out["p"] = _p(res.pvalue)
        out["ci95"] = _interval(res.confidence_interval(CONFIDENCE))
        if out["ci95"] is None and np.var(x) == 0 and np.var(y) == 0:
            out["ci95"] = [out["diff"], out["diff"]]
    return out


def paired(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Two-sided paired t-test of a[i] - b[i] (pairs with a missing side dropped): ``diff`` (mean
    difference), its 95 % interval, ``p``, and Wilcoxon's signed-rank p (``wilcoxon_p``; ``None`` when
    every difference is zero). ``sd`` is the sample SD of the differences."""
    from scipy.stats import ttest_rel, wilcoxon

    pairs = [
        (float(x), float(y))
        for x, y in zip(a, b, strict=True)
        if x is not None and y is not None and not (math.isnan(x) or math.isnan(y))
    ]
    diffs = [x - y for x, y in pairs]
    out: dict[str, Any] = {
        "test": "paired_t",
        "sidedness": SIDEDNESS,
        "n": len(pairs),
        "diff": float(np.mean(diffs)) if diffs else None,
        "sd": float(np.std(diffs, ddof=1)) if len(diffs) > 1 else None,
        "p": None,
        "ci95": None,
        "wilcoxon_p": None,
    }
    if len(diffs) > 1:
        if out["sd"] == 0:
            out["ci95"] = [out["diff"], out["diff"]]
        else:
            res = ttest_rel([x for x, _ in pairs], [y for _, y in pairs])
            out["p"] = _p(res.pvalue)
            out["ci95"] = _interval(res.confidence_interval(CONFIDENCE))
        if any(diffs):
            out["wilcoxon_p"] = _p(wilcoxon(diffs).pvalue)
    return out


def adjust(pvalues: Sequence[float | None], method: str) -> list[float | None]:
    """Multiple-comparison adjusted p-values (``None`` stays ``None``): ``method`` "fdr_bh"
    (Benjamini-Hochberg) or "holm" (Holm's step-down), as ``statsmodels.stats.multitest.multipletests``
    computes them."""
    from statsmodels.stats.multitest import multipletests

    if method not in ("fdr_bh", "holm"):
        raise ValueError(f"unknown correction {method!r}; expected 'fdr_bh' or 'holm'")
    present = [i for i, p in enumerate(pvalues) if p is not None]
    adjusted: list[float | None] = [None] * len(pvalues)
    if present:
        corrected = multipletests([pvalues[i] for i in present], method=method)[1]
        for i, q in zip(present, corrected, strict=True):
            adjusted[i] = float(q)
    return adjusted


def benjamini_hochberg(pvalues: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate)."""
    return adjust(pvalues, "fdr_bh")


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's adjusted p-values (family-wise error rate)."""
    return adjust(pvalues, "holm")


def verdict(difference: dict[str, Any]) -> str:
    """``beats`` when the 95 % interval of the difference (a - b) lies above 0, ``loses`` when below, else
    "ties" -- also when there is no interval (fewer than two values a side): one retraining each cannot
    tell a difference from seed noise."""
    ci = difference.get("ci95")
    if ci is None:
        return "ties"
    if ci[0] > 0:
        return "beats"
    if ci[1] < 0:
        return "loses"
    return "ties"


def fmt_mean_sd(summary: dict[str, Any], digits: int = 2) -> str:
    """``"91.21 ± 0.20"`` (the sample SD), or the bare mean for a single value; ``"—"`` for none."""
    if summary.get("mean") is None:
        return "—"
    mean = f"{summary['mean']:.{digits}f}"
    return mean if summary.get("sd") is None else f"{mean} ± {summary['sd']:.{digits}f}"
