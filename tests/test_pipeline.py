"""``nas pipeline`` at a tiny size (scikit-learn digits, 1-2 epochs): the run directory, the exported model,
resuming after an interrupt in each phase, the report."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from nas_core.vocabulary import NetworkSize
from pools.interrupts import Interrupted
from predictor_nas.pipeline import FinalTraining, PipelineConfig, run_pipeline
from predictor_nas.study import CandidateTraining, search_preset


def tiny_config() -> PipelineConfig:
    return PipelineConfig(
        search=search_preset(
            "quick", budgets=(1, 2), k=2, initial=4, level0_samples=6, budget_epochs=12, proxies=("params",)
        ),
        training=CandidateTraining(
            dataset="digits", max_train=256, max_test=256, network=NetworkSize(4, 1), device="cpu"
        ),
        final=FinalTraining(network=NetworkSize(4, 1), epochs=2, batch_size=256, seeds=1),
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline") / "run"
    return out, run_pipeline(tiny_config(), out)


def test_pipeline_writes_the_run_directory_and_compares_the_reference_points(uninterrupted, monkeypatch):
    out, summary = uninterrupted
    assert set(summary["final"]) == {"winner", "all_conv3x3", "random_search", "plain_cnn"}
    winner = summary["final"]["winner"]
    assert winner["arch"] == summary["search"]["best_arch"] and winner["train_config"]["epochs"] == 2
    # every network trained the same way on every training image (digits: 1,437 of them, no validation split)
    assert {row["train_config"]["lr"] for row in summary["final"].values()} == {0.1}
    assert all(row["valid_accuracy"] is None for row in summary["final"].values())
    cnn = summary["final"]["plain_cnn"]
    assert abs(cnn["params_millions"] - winner["params_millions"]) / winner["params_millions"] < 0.35  # size-matched
    assert summary["verdicts"].keys() == {"all_conv3x3", "random_search", "plain_cnn"}
    # one retraining seed (the tiny config): no interval, so every comparison is a tie, whatever the numbers
    assert summary["retraining_seeds"] == [0]
    assert {v["verdict"] for v in summary["verdicts"].values()} == {"ties"}
    assert set(summary["phase_seconds"]) >= {"search", "random search", "retrain winner", "export"}
    snippet = (out / "README.md").read_text().split("```python\n")[1].split("```")[0]
    images = torch.randint(0, 256, (3, *winner["input_shape"]), dtype=torch.uint8)
    namespace = {"images": images}
    monkeypatch.chdir(out)
    exec(snippet, namespace)  # the run directory's inference snippet runs as written
    assert namespace["logits"].shape == (3, 10)
    assert (
        json.loads((out / "pipeline.json").read_text())["final"]["winner"]["test_accuracy"] == winner["test_accuracy"]
    )


def test_exported_model_reproduces_the_eager_logits(tmp_path):
    from nas_core.training.retrain import retrain

    result = retrain(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
        dataset="digits",
        run_dir=tmp_path,
        network={"C": 4, "N": 1},
        epochs=1,
        device="cpu",
    )
    x = torch.randn(5, *result.input_shape)
    exported = torch.export.load(result.exported).module()
    with torch.no_grad():
        assert torch.allclose(exported(x), result.model(x), atol=1e-5)


def test_an_interrupt_in_each_phase_resumes_to_the_same_result(tmp_path, uninterrupted):
    """Ctrl-C in the search, at the start of the random search and in the middle of the winner's retraining:
    each rerun continues where it stopped and the end is the uninterrupted run's."""
    _, expected = uninterrupted
    out = tmp_path / "run"
    stops = {"search": False, "random search": False, "retrain winner": False}
    current = {"phase": None}

    def on_phase(name: str, total: int, done: int) -> None:
        current["phase"] = name
        if name == "random search" and not stops[name]:
            stops[name] = True
            raise Interrupted

    def on_progress(cost: int, valid: float | None) -> None:
        if current["phase"] == "search" and not stops["search"] and cost > 0:
            stops["search"] = True
            raise Interrupted

    def on_epoch(metrics, total: int) -> None:
        if (
            str(current["phase"]).startswith("retrain winner") and not stops["retrain winner"] and metrics.epoch == 1
        ):  # epochs count from 1
            stops["retrain winner"] = True
            raise Interrupted

    summary = None
    for _ in range(4):
        try:
            summary = run_pipeline(tiny_config(), out, on_phase, on_progress, on_epoch)
            break
        except Interrupted:
            continue
    assert all(stops.values()) and summary is not None
    assert summary["search"]["best_arch"] == expected["search"]["best_arch"]
    assert summary["random_search"] == expected["random_search"]
    for name, row in expected["final"].items():
        assert summary["final"][name]["test_accuracy"] == row["test_accuracy"], name
        assert summary["final_history"][name][-1]["train_loss"] == expected["final_history"][name][-1]["train_loss"]


def test_report_renders_every_section(tmp_path, uninterrupted):
    from nas_cli.pipeline import pipeline_plots, summary_table
    from nas_cli.report import write_report

    src, summary = uninterrupted
    out = tmp_path / "run"
    shutil.copytree(src, out)
    pipeline_plots(out, summary)
    html = write_report(out).read_text()
    md = (out / "report.md").read_text()
    assert "The winner and the reference points" in md and md.count("| plain_cnn |") == 1
    assert "\\|nor_conv_3x3~0\\|" in md  # NB201 strings do not break the Markdown table
    for plot in ("search_curve.png", "final_training.png", "cell_normal.png"):
        assert (out / plot).exists() and f"![{plot}]({plot})" in md
    assert html.count("<img") >= 3 and "<th>test_accuracy</th>" in html
    assert "winner" in summary_table(summary).splitlines()[2]


def test_a_one_point_curve_is_drawn(tmp_path, monkeypatch):
    """A search that charged once has a one-point curve: it must show as a marker, not an empty plot."""
    import matplotlib.figure

    from predictor_nas.plots import plot_curves

    saved = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: saved.append(fig))
    plot_curves({"a": [(3, 50.0)]}, tmp_path / "one.png")
    (line,) = saved[0].axes[0].lines
    assert len(line.get_xdata()) == 1 and line.get_marker() not in (None, "None", "")


def test_nas_pipeline_command_writes_model_report_and_summary(tmp_path, capsys):
    from nas_cli import main

    argv = ["pipeline", "--dataset", "digits", "--max-train", "256", "--search-channels", "4", "--budget-epochs", "8"]
    argv += ["--final-epochs", "1", "--final-channels", "4", "--final-seeds", "2"]
    argv += ["--references", "plain_cnn", "--out", str(tmp_path)]
    assert main([*argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["final"]) == {"winner", "plain_cnn"}
    # two retraining seeds a network: the verdict comes from the interval of the difference
    winner, cnn = printed["final"]["winner"], printed["final"]["plain_cnn"]
    assert len(winner["test_accuracy_seeds"]) == len(cnn["test_accuracy_seeds"]) == 2
    verdict = printed["verdicts"]["plain_cnn"]
    assert verdict["n"] == [2, 2] and verdict["sidedness"] == "two-sided"
    assert verdict["diff"] == pytest.approx(winner["test_accuracy"] - cnn["test_accuracy"])
    if verdict["ci95"] is not None and verdict["ci95"][0] > 0:
        assert verdict["verdict"] == "beats"
    elif verdict["ci95"] is not None and verdict["ci95"][1] < 0:
        assert verdict["verdict"] == "loses"
    else:
        assert verdict["verdict"] == "ties"
    for name in ("model.pt2", "README.md", "report.html", "report.md", "final_training.png", "config.json"):
        assert (tmp_path / name).exists(), name
    assert main([*argv[:-4], "--references", "resnet", "--out", str(tmp_path / "bad")]) == 2
    assert "unknown reference points ['resnet']" in capsys.readouterr().err
    more = [*argv[:8], "14", *argv[9:]]  # the same command with more budget: the search goes on
    assert main([*more, "--json"]) == 0
    longer = json.loads(capsys.readouterr().out)
    assert 8 < longer["search"]["cost_epochs"] <= 14
    assert longer["final"]["winner"]["arch"] == longer["search"]["best_arch"]  # a new winner is retrained
    if longer["search"]["best_arch"] != printed["search"]["best_arch"]:
        assert list((tmp_path / "final" / "winner").glob("seed_*.superseded-*"))
    else:  # the same winner: read back, not retrained
        assert longer["final"]["winner"]["test_accuracy_seeds"] == winner["test_accuracy_seeds"]
    # the first command again in a new folder: the same search, and every retraining reused from the cache
    assert main([*argv[:-1], str(tmp_path / "again")]) == 0
    assert "reused, not retrained: winner 2 of 2, plain_cnn 2 of 2 seed(s)" in capsys.readouterr().out
    again = json.loads((tmp_path / "again" / "pipeline.json").read_text())
    assert {name: row["cached_seeds"] for name, row in again["final"].items()} == {"winner": 2, "plain_cnn": 2}
    assert again["final"]["winner"]["test_accuracy_seeds"] == winner["test_accuracy_seeds"]
    assert (tmp_path / "again" / "model.pt2").exists()


def test_onnx_export_gives_the_exported_programs_logits(tmp_path):
    """With the ``export`` extra (in ``dev``), ``model.onnx`` is written beside ``model.pt2`` and computes the
    same logits (onnx's reference evaluator, no runtime needed)."""
    pytest.importorskip("onnxscript", reason="the export extra (onnx, onnxscript) is not installed")
    from onnx.reference import ReferenceEvaluator

    from nas_core.training.retrain import retrain
    from predictor_nas.pipeline import _export

    result = retrain(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
        dataset="digits",
        run_dir=tmp_path / "final",
        network={"C": 4, "N": 1},
        epochs=1,
        device="cpu",
    )
    exported = _export(tmp_path, result.to_dict())
    assert exported["onnx"] == str(tmp_path / "model.onnx")
    x = torch.randn(3, *result.input_shape)
    evaluator = ReferenceEvaluator(str(tmp_path / "model.onnx"))
    (onnx_logits,) = evaluator.run(None, {evaluator.input_names[0]: x.numpy()})
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(onnx_logits), result.model(x), atol=1e-4)


def test_both_searches_keep_to_the_pipelines_limit(tmp_path):
    """RANK-NOSH and the random-search reference run under one limit: neither pool holds a cell over it."""
    from nas_core.spaces import get_space
    from pools import Pool
    from predictor_nas import CostLimit, op_table_cost

    cost = op_table_cost(
        get_space("nb201"), {"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.4, "avg_pool_3x3": 0.1, "skip_connect": 0.0}
    )
    config = tiny_config()
    config.references = ("random_search",)
    summary = run_pipeline(config, tmp_path / "run", limit=CostLimit(cost, 1.2))
    assert summary["limit"] == {"cost": "op_table", "limit": 1.2, "unit": ""}
    for name in ("search", "random"):
        pool = Pool.open(f"sqlite:///{tmp_path / 'run' / name / 'pool.db'}")
        costs = [cost(c.arch) for c in pool.candidates()]
        assert costs and max(costs) <= 1.2
    assert cost(summary["search"]["best_arch"]) <= 1.2 and cost(summary["random_search"]["best_arch"]) <= 1.2


def test_the_limit_flag_reads_cost_equals_value():
    import argparse

    from nas_cli.pipeline import limit_of

    assert limit_of("params=0.05").limit == 0.05 and limit_of("flops=3").cost == "flops"
    with pytest.raises(argparse.ArgumentTypeError, match=r"unknown cost 'watts'.*expected COST=VALUE"):
        limit_of("watts=3")
    with pytest.raises(argparse.ArgumentTypeError, match="positive number"):
        limit_of("params")


def test_the_final_images_flag_reads_a_count_or_all():
    import argparse

    from nas_cli.app import build_parser
    from nas_cli.pipeline import config_of, images_of

    assert images_of("12500") == 12500 and images_of("ALL") == "all"
    for bad in ("0", "-5", "half"):
        with pytest.raises(argparse.ArgumentTypeError, match=rf"--final-images '{bad}'.*positive image count or 'all'"):
            images_of(bad)
    parse = build_parser().parse_args
    assert config_of(parse(["pipeline", "--final-images", "300"])).final.images == 300
    assert config_of(parse(["pipeline", "--final-images", "all"])).final.images is None
    assert config_of(parse(["pipeline"])).final.images == FinalTraining().images
    assert config_of(parse(["pipeline", "--final-lr-schedule", "epoch"])).final.lr_schedule == "epoch"


def test_a_final_recipe_of_fewer_images_retrains_on_a_seeded_subset(tmp_path):
    from dataclasses import replace

    from predictor_nas.pipeline import ALL_CONV3X3, retrain_final

    config = tiny_config()
    config = replace(config, final=replace(config.final, images=300, epochs=1))
    row = retrain_final("all_conv3x3", ALL_CONV3X3, config, tmp_path, None, None, False, 0)
    recorded = json.loads((tmp_path / "final" / "all_conv3x3" / "seed_0" / "config.json").read_text())["config"]
    assert recorded["max_train"] == 300 and recorded["valid_fraction"] == 0.0 and row["valid_accuracy"] is None
    assert recorded["train_config"]["lr_schedule"] == "step"
    with pytest.raises(ValueError, match=r"FinalTraining\.images must be a positive count or None.*got 0"):
        FinalTraining(images=0)


def test_retrainings_in_processes_equal_one_process_retrainings(tmp_path):
    """Issue 44: the retrainings run two at a time, each a spawned single-thread process, give what one
    single-thread process gives for the same seeds -- accuracies, loss curves and weights, bit for bit; the
    plain CNN is sized to the winner as in one process."""
    from nas_core.training import load_checkpoint
    from predictor_nas.pipeline import ALL_CONV3X3, _retrain_in_processes, retrain_final

    config, seeds = tiny_config(), [0, 1]
    jobs = [("winner", ALL_CONV3X3), ("plain_cnn", None)]
    parallel = _retrain_in_processes(jobs, seeds, config, tmp_path / "parallel", None, 2, None, None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        winner = [retrain_final("winner", ALL_CONV3X3, config, tmp_path / "one", None, None, s == 0, s) for s in seeds]
        params = round(winner[0]["params_millions"] * 1e6)
        cnn = [retrain_final("plain_cnn", None, config, tmp_path / "one", params, None, False, s) for s in seeds]
    finally:
        torch.set_num_threads(threads)
    for name, rows in (("winner", winner), ("plain_cnn", cnn)):
        for seed, one, two in zip(seeds, rows, parallel[name], strict=True):
            assert two["threads"] == one["threads"] == 1
            assert two["test_accuracy"] == one["test_accuracy"], (name, seed)
            assert [h["train_loss"] for h in two["history"]] == [h["train_loss"] for h in one["history"]]
            weights = [
                load_checkpoint(tmp_path / run / "final" / name / f"seed_{seed}" / "checkpoint.pt")["trainer"]["model"]
                for run in ("one", "parallel")
            ]
            assert weights[0].keys() == weights[1].keys()
            assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0]), (name, seed)
    assert parallel["plain_cnn"][0]["params_millions"] == cnn[0]["params_millions"]
    assert (tmp_path / "parallel" / "final" / "winner" / "seed_0" / "model.pt2").exists()
