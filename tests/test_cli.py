import json
import random
import subprocess
import sys

import pytest

from nas_cli import main
from nas_core.vocabulary import NetworkSize


def test_help_and_spaces(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "spaces" in capsys.readouterr().out
    assert main(["spaces", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {s["name"] for s in info["spaces"]} >= {"nb201", "darts", "s1", "s2", "s3", "s4"}


def test_console_entry_point_is_installed():
    out = subprocess.run([sys.executable, "-m", "nas_cli", "spaces"], capture_output=True, text=True, check=True)
    assert "nb201" in out.stdout and "15625" in out.stdout


def test_parser_does_not_import_the_heavy_optional_libraries():
    """`nas --help` and every command's argument parsing stay quick (2.9 s on the 2-core VM, was 7.3 s):
    torch-geometric, scipy.stats, torchvision, matplotlib and torch's C++-extension machinery (whose
    import logs a CUDA_HOME warning on machines with a CUDA toolkit and no GPU) load where they are used."""
    code = (
        "import sys; from nas_cli import build_parser; build_parser(); "
        "heavy = ('torch_geometric', 'scipy.stats', 'torchvision', 'matplotlib', 'torch.utils.cpp_extension'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_demo_runs_on_digits(tmp_path, capsys):
    out = tmp_path / "demo.json"
    assert (
        main(["demo", "--dataset", "digits", "--cells", "2", "--epochs", "1", "--channels", "4", "--out", str(out)])
        == 0
    )
    results = json.loads(out.read_text())["results"]
    assert len(results) == 2 and all(0 <= r["test_acc"] <= 100 for r in results)


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["demo", "--dataset", "fashion-mnist", "--data-root", str(tmp_path)]) == 2
    assert "Fashion-MNIST not found" in capsys.readouterr().err


def test_rank_nosh_tabular_run_directory_and_resume(tmp_path, shared_data, capsys):
    out = tmp_path / "run"
    argv = [
        "rank-nosh",
        "--space",
        "nb201",
        "--benchmark",
        "nb201:cifar10",
        "--benchmark-dir",
        str(shared_data / "nb201"),
        "--budget-epochs",
        "600",
        "--proxies",
        "none",
        "--k",
        "4",
        "--initial",
        "8",
        "--level0-samples",
        "12",
        "--seed",
        "1",
        "--out",
        str(out),
        "--quiet",
        "--baselines",
        "random",
    ]
    assert main(argv) == 0
    result = json.loads((out / "result.json").read_text())
    assert {"best_arch", "test_accuracy", "cost_epochs", "n_candidates"} <= set(result)
    assert result["cost_epochs"] <= 600 and 0 < result["test_accuracy"] <= 94.38
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["search"]["seed"] == 1 and config["environment"]["packages"]["torch"]
    for name in ("curve.png", "pyramid.png", "ranker_tau.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    rounds = [json.loads(line) for line in (out / "rounds.jsonl").read_text().splitlines()]
    assert rounds and all(r["admission_tau"] is None or -1 <= r["admission_tau"] <= 1 for r in rounds)
    assert json.loads((out / "baselines.json").read_text())["random"]  # --baselines random: its curve
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0  # same command again: resumes the finished search, same answer
    assert json.loads((out / "result.json").read_text()) == result
    assert json.loads(capsys.readouterr().out)["test_accuracy"] == result["test_accuracy"]  # stdout: only JSON
    config_before = (out / "config.json").read_text()
    changed = [*argv[: argv.index("--level0-samples") + 1], "24", *argv[argv.index("--level0-samples") + 2 :]]
    assert main(changed) == 2  # other settings on an existing run directory: an error, nothing rewritten
    err = capsys.readouterr().err
    assert "level0_samples: 12 -> 24" in err and "another --out" in err
    assert (out / "config.json").read_text() == config_before
    more = [*argv[: argv.index("--budget-epochs") + 1], "900", *argv[argv.index("--budget-epochs") + 2 :]]
    assert main(more) == 0  # a larger budget continues the finished search from where it ended
    extended = json.loads((out / "result.json").read_text())
    assert 600 < extended["cost_epochs"] <= 900 and extended["n_candidates"] > result["n_candidates"]
    assert json.loads((out / "config.json").read_text())["config"]["search"]["budget_epochs"] == 900
    result = extended
    capsys.readouterr()

    assert main(["report", str(out)]) == 0
    from html.parser import HTMLParser

    class Collect(HTMLParser):
        tags: list = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    parser = Collect()
    parser.feed((out / "report.html").read_text())
    images = [a["src"] for t, a in parser.tags if t == "img"]
    assert images and images[0].startswith("data:image/png;base64,")
    assert result["best_arch"] in (out / "report.html").read_text()
    assert "finished" in (out / "report.md").read_text()


def test_a_run_that_failed_before_training_takes_the_corrected_command(tmp_path, capsys):
    out = tmp_path / "run"
    tiny = ["--budgets", "1,2", "--budget-epochs", "3", "--initial", "2", "--k", "2", "--level0-samples", "2"]
    tiny += ["--channels", "4", "--cells-per-stage", "1", "--max-train", "200", "--proxies", "none", "--quiet"]
    argv = ["rank-nosh", "--out", str(out), *tiny]
    assert main([*argv, "--dataset", "fashion-mnist", "--data-root", str(tmp_path / "nothing")]) == 2
    assert "Fashion-MNIST not found" in capsys.readouterr().err
    assert main([*argv, "--dataset", "digits"]) == 0  # not "config differs": nothing was trained
    err = capsys.readouterr().err
    assert "never trained; its settings are replaced" in err and "'fashion-mnist' -> 'digits'" in err
    assert "moved aside" in err and len(list(out.glob("pool.db.untrained-*"))) == 1  # kept, not deleted
    from pools import Pool

    pool = Pool.open(f"sqlite:///{out}/pool.db")
    assert pool.config.dataset == "digits" and pool.config.data_root is None and pool.total_epochs() > 0
    pool.close()
    assert main([*argv, "--dataset", "digits", "--max-train", "300"]) == 2  # now it has trained: pinned
    assert "max_train: 200 -> 300" in capsys.readouterr().err


def test_report_of_a_run_that_has_not_finished(tmp_path, capsys):
    from nas_cli.rundir import prepare_run_dir

    run = prepare_run_dir(tmp_path / "half", "diff", {"method": "darts"})
    assert main(["report", str(run)]) == 0
    assert "in progress" in (run / "report.md").read_text()
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_pool_commands(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/p.db"
    assert main(["pool", "create", url, "--space", "nb201", "--dataset", "digits", "--epochs", "2"]) == 0
    assert main(["pool", "show", url, "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["candidates"] == 0
    assert main(["pool", "export", url, str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["config"]["dataset"] == "digits"
    assert main(["pool", "show", f"sqlite:///{tmp_path}/missing.db"]) == 2
    assert "no pool at" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["spaces", "demo", "pool", "worker", "proxies", "rank-nosh", "diff", "hybrid", "train", "report"]
)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0 and "usage" in capsys.readouterr().out


def test_nas_train_resumes_reports_and_exports(tmp_path, capsys):
    import torch

    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    common = [
        "train",
        "--arch",
        arch,
        "--dataset",
        "digits",
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
        "--batch-size",
        "64",
        "--quiet",
    ]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main([*common, "--epochs", "2", "--out", str(full)]) == 0
    # an interrupted run: the same 2-epoch schedule stopped after epoch 1, then resumed
    from nas_cli import train_cmd
    from nas_core.training import Trainer

    original = Trainer.train_to
    Trainer.train_to = lambda self, epoch, on_epoch=None: original(self, 1, on_epoch)
    try:
        assert main([*common, "--epochs", "2", "--out", str(part), "--export", "none"]) == 0
    finally:
        Trainer.train_to = original
    assert main([*common, "--epochs", "2", "--out", str(part)]) == 0
    a, b = (json.loads((d / "result.json").read_text()) for d in (full, part))
    assert [h["train_loss"] for h in a["history"]] == [h["train_loss"] for h in b["history"]]
    assert a["test_accuracy"] == b["test_accuracy"] and a["params_millions"] > 0 and a["flops_millions"] > 0
    exported = torch.export.load(full / "model.pt2").module()
    assert exported(torch.randn(1, 1, 8, 8)).shape == (1, 10)
    assert json.loads((full / "genotype.json").read_text())["arch"] == arch
    assert train_cmd.read_arch(arch) == arch
    assert train_cmd.read_arch(f"@{full / 'genotype.json'}") == arch  # a run's JSON names its architecture
    (tmp_path / "search.json").write_text(json.dumps({"best_arch": arch, "test_accuracy": 1.0}))
    assert train_cmd.read_arch(f"@{tmp_path / 'search.json'}") == arch
    (tmp_path / "other.json").write_text("{}")
    assert main(["train", "--arch", f"@{tmp_path / 'other.json'}", "--out", str(tmp_path / "y")]) == 2
    assert "none of the keys" in capsys.readouterr().err
    assert main(["train", "--arch", "|bogus~0|", "--dataset", "digits", "--out", str(tmp_path / "x")]) == 2
    assert "not a valid nb201" in capsys.readouterr().err


def test_speed_options_reach_the_pools_training_config(tmp_path):
    """rank-nosh's --channels-last / --compile are stored with the pool, so `nas worker`s train with them."""
    from pools import Pool

    argv = ["rank-nosh", "--dataset", "digits", "--channels", "4", "--cells-per-stage", "1", "--max-train", "128"]
    argv += ["--budgets", "1", "--initial", "2", "--k", "1", "--level0-samples", "2", "--proxies", "none"]
    argv += ["--budget-epochs", "2", "--channels-last", "--compile", "off", "--out", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    train = Pool.open(f"sqlite:///{tmp_path / 'pool.db'}").config.train
    assert train["channels_last"] is True and train["compile"] == "off"


def test_config_files_set_defaults_that_flags_override(tmp_path, capsys, monkeypatch):
    from nas_cli import demo

    seen = {}
    monkeypatch.setattr(demo, "run", lambda args: seen.update(vars(args)))
    cfg = tmp_path / "demo.yaml"
    cfg.write_text("dataset: digits\ncells: 5\nmax-train: 100\n")
    assert main(["demo", "--config", str(cfg), "--cells", "2"]) == 0
    assert seen["dataset"] == "digits" and seen["cells"] == 2 and seen["max_train"] == 100
    cfg.write_text("dataset: digits\ncels: 5\n")
    assert main(["demo", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "unknown option(s) ['cels']" in err and "'cells'" in err


def test_config_show_prints_a_methods_resolved_defaults(capsys):
    assert main(["config", "show", "pc-darts"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["paper"].startswith("Xu et al.") and shown["search"]["partial_k"] == 4
    assert shown["search"]["warmup_epochs"] == 15 and "a_lr" in shown["method_options"]
    assert main(["config", "show", "darts-9th"]) == 2


@pytest.mark.parametrize(
    "command",
    [["pool", "show", "{url}"], ["pool", "create", "{url}", "--space", "nb201"], ["worker", "--pool", "{url}"]],
)
def test_a_corrupt_pool_file_is_a_one_line_error_and_is_left_untouched(tmp_path, capsys, command):
    garbage = tmp_path / "g.db"
    garbage.write_bytes(random.Random(0).randbytes(16384))
    before = garbage.read_bytes()
    url = f"sqlite:///{garbage}"
    assert main([part.format(url=url) for part in command]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(garbage) in err and "not a readable pool database" in err
    assert garbage.read_bytes() == before


def test_a_missing_postgresql_driver_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails, as on an install without it
    assert main(["pool", "show", "postgresql://user:secret@127.0.0.1:1/db"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nas-suite[postgres]" in err and "secret" not in err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://user:hunter2@127.0.0.1:1/db",  # nothing listens there
        "postgresql://user:hunter2@127.0.0.1:1/",  # names no database
        "mysql://user:hunter2@127.0.0.1/db",  # unsupported backend
    ],
)
def test_a_pool_password_never_reaches_an_error(url, capsys):
    assert main(["pool", "show", url]) == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err and "user" in err


def test_a_pool_password_never_reaches_the_run_directory(tmp_path):
    from nas_cli.rundir import prepare_run_dir

    out = prepare_run_dir(tmp_path / "run", "rank-nosh", {"args": {"pool": "postgresql://me:hunter2@db.local/pool"}})
    text = (out / "config.json").read_text()
    assert "hunter2" not in text and "postgresql://me:***@db.local/pool" in text


def test_the_pool_url_can_come_from_a_file_or_the_environment(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/pool.db"
    (tmp_path / "url.txt").write_text(url + "\n")
    assert main(["pool", "create", "--pool-file", str(tmp_path / "url.txt"), "--space", "nb201"]) == 0
    assert main(["pool", "show", "--pool-file", str(tmp_path / "url.txt"), "--json"]) == 0
    monkeypatch.setenv("NAS_POOL_URL", url)
    capsys.readouterr()
    assert main(["pool", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["url"] == url
    monkeypatch.delenv("NAS_POOL_URL")
    assert main(["pool", "show"]) == 2
    assert "NAS_POOL_URL" in capsys.readouterr().err


def test_ctrl_c_is_one_line_saying_how_to_resume(monkeypatch, tmp_path, shared_data, capsys):
    from predictor_nas.search import RankNosh

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(RankNosh, "run", interrupted)
    argv = ["rank-nosh", "--benchmark", "nb201:cifar10", "--proxies", "none", "--out", str(tmp_path / "r"), "--quiet"]
    assert main(argv) == 130
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run the same command again to resume" in err


def test_nas_diff_sets_every_search_setting_from_the_config_dataclass():
    """Flags made from DiffSearchConfig's fields: the weight learning rate and α's betas are settable, an
    unset field keeps the method's paper default, and a bad value names the option."""
    from nas_cli import build_parser, diff_cmd

    parser = build_parser()
    args = parser.parse_args(["diff", "--method", "pc-darts", "--w-lr", "0.05", "--a-betas", "0.6", "0.9"])
    config = diff_cmd.settings(args)
    assert config.w_lr == 0.05 and config.a_betas == (0.6, 0.9)
    assert config.a_lr == 6e-4 and config.partial_k == 4  # PC-DARTS's published overrides stay
    assert diff_cmd.settings(parser.parse_args(["diff", "--flip", "false"])).flip is False
    with pytest.raises(SystemExit):
        parser.parse_args(["diff", "--w-lr", "fast"])


def test_nas_version(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"nas {metadata.version('nas-suite')}"


def test_size_flags_mean_the_same_in_every_command_and_space(tmp_path, capsys):
    """--channels C and --cells-per-stage N size every command's networks; a DARTS network of N cells per stage
    has 3N + 2 cells, and there is no separate --layers any more."""
    from nas_cli import diff_cmd, rank_nosh, train_cmd
    from nas_cli import pipeline as pipeline_cmd
    from nas_cli.app import build_parser
    from nas_core.spaces import get_space

    parser = build_parser()
    size = ["--channels", "4", "--cells-per-stage", "2"]
    _, _, training = rank_nosh.resolve(parser.parse_args(["rank-nosh", "--space", "darts", *size]))
    assert training.network == NetworkSize(4, 2)
    assert diff_cmd.settings(parser.parse_args(["diff", "--space", "darts", *size])).network == NetworkSize(4, 2)
    args = parser.parse_args(["train", "--arch", "x", "--space", "darts", "--out", "o", "--network", "quick"])
    assert train_cmd.size_from_args(args, NetworkSize(16, 5)) == NetworkSize(8, 1)  # --network wins
    # a flag left out keeps that part of the command's own default (the quick presets' N=1), not NetworkSize()'s
    assert diff_cmd.settings(parser.parse_args(["diff", "--channels", "4"])).network == NetworkSize(4, 1)
    pipeline_args = parser.parse_args(["pipeline", "--search-channels", "4", "--final-cells-per-stage", "2"])
    config = pipeline_cmd.config_of(pipeline_args)
    assert config.training.network == NetworkSize(4, 1) and config.final.network == NetworkSize(8, 2)
    assert get_space("nb201").size_kwargs(NetworkSize(4, 2)) == {"C": 4, "N": 2}
    assert get_space("darts").size_kwargs(NetworkSize(4, 2)) == {"C": 4, "layers": 8}
    with pytest.raises(SystemExit, match="2"):
        main(["rank-nosh", "--dataset", "digits", "--layers", "3", "--out", str(tmp_path)])
    assert "unrecognized arguments: --layers" in capsys.readouterr().err


def test_a_stored_size_in_the_constructors_names_reads_back_as_the_same_network_size():
    """Pool files and run records written before NetworkSize hold {C, N} or {C, layers}: they read back, and a
    layers count that no N gives (3N + 2) is refused naming the value."""
    assert NetworkSize.parse({"C": 16, "N": 5}) == NetworkSize(16, 5)
    assert NetworkSize.parse({"C": 36, "layers": 20}) == NetworkSize(36, 6)
    assert NetworkSize.parse({"channels": 8, "cells_per_stage": 1}) == NetworkSize.parse("quick") == NetworkSize(8, 1)
    with pytest.raises(ValueError, match=r"layers=4 is not a DARTS depth .*3N \+ 2"):
        NetworkSize.parse({"C": 4, "layers": 4})
    with pytest.raises(ValueError, match=r"NetworkSize.channels must be an integer >= 1, got 0"):
        NetworkSize(0, 1)
    with pytest.raises(ValueError, match="unknown network size 'huge'; known network sizes: darts-eval"):
        NetworkSize.parse("huge")


def test_proxies_command_scores_each_space_at_its_own_size(tmp_path, capsys):
    from nas_core.spaces import get_space

    archs = tmp_path / "archs.txt"
    out = tmp_path / "scores.json"
    nb201, darts = get_space("nb201"), get_space("darts")
    archs.write_text("\n".join(nb201.to_string(nb201.from_index(i)) for i in (0, 1)))
    base = ["proxies", "--archs", str(archs), "--proxies", "params", "--dataset", "digits", "--channels", "4"]
    assert main([*base, "--cells-per-stage", "1", "--out", str(out), "--quiet"]) == 0
    small = json.loads(out.read_text())
    assert main([*base, "--cells-per-stage", "2", "--out", str(out), "--quiet"]) == 0
    large = json.loads(out.read_text())
    assert small["network"] == {"channels": 4, "cells_per_stage": 1} and large["network"]["cells_per_stage"] == 2
    # N is the network's size: more cells per stage, more parameters, for every architecture
    assert all(b["params"] > a["params"] for a, b in zip(small["scores"], large["scores"], strict=True))

    archs.write_text(darts.to_string(darts.sample(random.Random(0))))
    darts_base = [*base[:-2], "--channels", "4", "--space", "darts"]
    assert main([*darts_base, "--cells-per-stage", "1", "--out", str(out), "--quiet"]) == 0
    one = json.loads(out.read_text())
    assert main([*darts_base, "--cells-per-stage", "2", "--out", str(out), "--quiet"]) == 0
    two = json.loads(out.read_text())
    assert one["network"] == {"channels": 4, "cells_per_stage": 1}  # 5 cells
    assert two["scores"][0]["params"] > one["scores"][0]["params"]  # 8 cells
    with pytest.raises(SystemExit, match="2"):
        main([*base, "--layers", "3", "--out", str(out)])
    assert "unrecognized arguments: --layers" in capsys.readouterr().err
