"""Every search strategy behind the one Study surface, on every backend: the table, in-process training and
`nas worker` processes (predictor_nas.strategies)."""

from __future__ import annotations

import pytest

from nas_core.spaces import get_space
from nas_core.vocabulary import NetworkSize
from predictor_nas import CandidateTraining, Study, search_preset
from predictor_nas.baselines import regularized_evolution
from predictor_nas.evaluators import TabularNB201Evaluator
from predictor_nas.strategies import REA, STRATEGIES, RandomSearch, get_strategy


def tiny_training(**overrides) -> CandidateTraining:
    return CandidateTraining(
        dataset="digits", max_train=200, max_test=200, network=NetworkSize(4, 1), batch_size=64, **overrides
    )


def test_an_unknown_strategy_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown strategy 'bohb'; known strategies: asha, random, rank-nosh, rea"):
        get_strategy("bohb")


def test_a_strategy_through_the_study_is_the_baseline_called_directly(tmp_path, shared_data):
    """Study(strategy=REA()) on the table gives what regularized_evolution gives on the same evaluator,
    and what study.baseline("rea") gives beside a RANK-NOSH study: one surface, no result moved."""
    config = search_preset("tabular", budget_epochs=600, seed=4)
    bench = dict(benchmark="nb201:cifar10", benchmark_dir=str(shared_data / "nb201"))
    with Study.create(config, **bench, run_dir=tmp_path / "rea", strategy=REA()) as study:
        through_study = study.optimize().to_dict()
    evaluator = TabularNB201Evaluator("cifar10", shared_data / "nb201")
    direct = regularized_evolution(evaluator, get_space("nb201"), 600, seed=4, fidelity=12).to_dict()
    assert through_study == direct and through_study["method"] == "rea"
    with Study.create(config, **bench, run_dir=tmp_path / "nosh") as study:
        assert study.baseline("rea").to_dict() == direct


@pytest.mark.parametrize("name", [n for n in STRATEGIES if n != "rank-nosh"])
def test_every_strategy_runs_on_real_training_within_its_budget(name, tmp_path):
    config = search_preset("quick", budgets=(1, 2), budget_epochs=8, seed=1)
    with Study.create(config, training=tiny_training(), run_dir=tmp_path, strategy=get_strategy(name)) as study:
        result = study.optimize()
        assert result.best_arch is not None and 0 < result.cost_epochs <= 8
        lineages = {c.lineage for c in study.pool.candidates()}
        assert lineages == {get_strategy(name).name}  # the pool says who proposed each cell
        assert study.pool.total_epochs() <= result.cost_epochs  # charged at least what trained
        study.report(result)
        assert 0 <= result.test_accuracy <= 100  # read once, after the search
    assert (tmp_path / "result.json").exists() and (tmp_path / "curve.png").exists()


def test_rea_runs_on_pool_workers(tmp_path):
    """REA with external workers: the study only enqueues; a `nas worker` process trains every job."""
    from test_pool_workers import spawn_worker

    url = f"sqlite:///{tmp_path / 'pool.db'}"
    config = search_preset("quick", budgets=(1, 2), budget_epochs=6, seed=2)
    training = tiny_training(external_workers=True, device="cpu")
    study = Study.create(config, training=training, pool=url, strategy=REA(population=3, tournament=2))
    worker = spawn_worker(url, "w0", "--idle-timeout", "60", "--heartbeat-interval", "0.5")
    try:
        result = study.optimize()
        assert result.method == "rea" and result.cost_epochs <= 6 and result.n_evaluated >= 3
        jobs = study.pool.jobs()
        assert jobs and {j.worker for j in jobs} == {"w0"} and {j.state for j in jobs} == {"done"}
    finally:
        worker.terminate()
        worker.communicate(timeout=60)
        study.close()


def test_the_pipelines_random_search_is_a_study_strategy(tmp_path, monkeypatch):
    """nas pipeline's reference search goes through Study(strategy=RandomSearch(...))."""
    from predictor_nas import pipeline

    made = []
    real = Study.create

    def create(*args, **kwargs):
        made.append(kwargs.get("strategy"))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline.Study, "create", create)
    config = pipeline.PipelineConfig(
        search=search_preset("quick", budgets=(1, 2), budget_epochs=4), training=tiny_training(), seed=3
    )
    result = pipeline._random_search(config, tmp_path)
    assert made == [RandomSearch(fidelity_epochs=2)] and result.method == "random" and result.cost_epochs <= 4
    assert config.search.seed == 3  # the pipeline's one seed
