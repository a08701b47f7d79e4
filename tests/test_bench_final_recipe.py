"""scripts/bench_final_recipe.py: the final recipe chosen by validation accuracy for time (issue 44)."""

import json

from scripts import bench_final_recipe


def recipe(name, acc, seconds):
    return {"name": name, "valid_acc_mean": acc, "predicted_pipeline_s": seconds}


def test_the_rule_takes_the_most_accurate_recipe_that_fits_the_budget():
    recipes = [recipe("fast", 80.0, 300), recipe("fits", 84.0, 590), recipe("best", 86.0, 900)]
    assert bench_final_recipe.choose(recipes, 600)["name"] == "fits"
    assert bench_final_recipe.choose(recipes, 1000)["name"] == "best"
    assert bench_final_recipe.choose(recipes, 200) is None


def test_a_tiny_grid_measures_every_recipe_on_validation_only(tmp_path, monkeypatch):
    out, work = tmp_path / "recipe.json", tmp_path / "work"
    argv = ["bench_final_recipe.py", "--tiny", "--processes", "1", "--work", str(work), "--out", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    bench_final_recipe.main()
    report = json.loads(out.read_text())
    assert [r["name"] for r in report["recipes"]] == ["e1_i200", "e1_i400", "e2_i200", "e2_i400"]
    for r in report["recipes"]:  # 2 cells x 2 seeds each
        assert len(r["valid_acc"]) == 4 and r["retrain_wall_s_mean"] > 0
        assert r["predicted_pipeline_s"] > report["outside_retraining"]["outside_retraining_s"]
    chosen = bench_final_recipe.choose(report["recipes"], report["budget_s"])
    assert report["chosen"] == chosen["name"] and out.with_suffix(".png").exists()
    results = [json.loads(p.read_text()) for p in work.glob("*/*/*/result.json")]
    assert len(results) == 16 and all(r["test_accuracy"] is None for r in results)
    # the validation split is the same 300 images for every recipe: the permutation's first 300
    configs = [json.loads(p.read_text()) for p in work.glob("*/*/*/config.json")]
    assert {round(c["config"]["valid_fraction"] * c["config"]["max_train"]) for c in configs} == {300}


def test_the_pipelines_default_recipe_is_the_one_the_benchmark_chose():
    from predictor_nas.pipeline import FinalTraining

    report = json.loads((bench_final_recipe.RESULTS / "bench_final_recipe.json").read_text())
    chosen = next(r for r in report["recipes"] if r["name"] == report["chosen"])
    assert bench_final_recipe.choose(report["recipes"], report["budget_s"]) == chosen
    final = FinalTraining()
    assert (final.epochs, final.images, final.lr_schedule) == (
        chosen["epochs"],
        chosen["images"],
        report["lr_schedule"],
    )
