"""Every Python snippet of docs/api.md runs as written -- its names, arguments and attributes exist and fit
together -- at a test's size: the test shrinks budgets, epochs and data (digits in place of
Fashion-MNIST) inside the library calls the snippets make, never the snippets' text; the supernet's cost
ratio is fixed rather than timed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import predictor_nas
import predictor_nas.supernet_cost
import supernet
from nas_core.vocabulary import NetworkSize

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", API.read_text(), flags=re.S)
TINY_NETWORK = NetworkSize(4, 1)


def shrink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the library entry points the snippets import by the same functions at a tiny size."""
    real_preset, real_training = predictor_nas.search_preset, predictor_nas.CandidateTraining
    real_search, real_retrain = supernet.differentiable_search, supernet.retrain

    def search_preset(name: str, **kw: Any) -> Any:
        if name == "tabular":
            return real_preset(name, **{**kw, "budget_epochs": min(kw.get("budget_epochs", 600), 600)})
        small = dict(budgets=(1, 2), k=2, initial=4, level0_samples=6, budget_epochs=24)
        return real_preset(name, **{**kw, **small})

    def candidate_training(**kw: Any) -> Any:
        return real_training(**{**kw, "dataset": "digits", "max_train": 128, "max_test": 128, "network": TINY_NETWORK})

    def differentiable_search(method: Any = "darts", **kw: Any) -> Any:
        tiny = dict(epochs=1, max_train=128, batch_size=32, pt_tune_epochs=1, pt_eval_batches=1)
        if "network" not in kw:  # the study's own size (supernet_settings) is kept: warm starts need it
            tiny.update(network=TINY_NETWORK, dataset="digits")
        return real_search(method, **{**kw, **tiny})

    def retrain(arch: str, **kw: Any) -> Any:
        return real_retrain(arch, **{**kw, "dataset": "digits", "network": TINY_NETWORK, "epochs": 1})

    for module in (predictor_nas, predictor_nas.study):
        monkeypatch.setattr(module, "search_preset", search_preset)
    monkeypatch.setattr(predictor_nas, "CandidateTraining", candidate_training)
    monkeypatch.setattr(supernet, "differentiable_search", differentiable_search)
    monkeypatch.setattr(supernet, "retrain", retrain)
    # the supernet's cost is charged at a fixed 2 child epochs per epoch: timing it (tests/test_hybrid_harness.py,
    # tests/test_examples.py) costs more than the rest of the snippet
    fixed = {"ratio": 2.0, "supernet_epoch_seconds": None, "child_epoch_seconds": None, "clock": None, "source": "test"}
    monkeypatch.setattr(predictor_nas.supernet_cost, "measure_cost_ratio", lambda *a, **k: fixed)


def test_api_md_has_the_snippets_this_test_runs():
    assert len(SNIPPETS) >= 4 and all("import" in s for s in SNIPPETS)


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_every_api_md_snippet_runs(index, tmp_path, monkeypatch, shared_data, capsys):
    monkeypatch.setenv("NAS_NB201_DIR", str(shared_data / "nb201"))
    monkeypatch.chdir(tmp_path)
    shrink(monkeypatch)
    namespace: dict[str, Any] = {}
    exec(compile(SNIPPETS[index], f"docs/api.md snippet {index + 1}", "exec"), namespace)
    for study in (v for v in namespace.values() if isinstance(v, predictor_nas.Study)):
        study.close()
