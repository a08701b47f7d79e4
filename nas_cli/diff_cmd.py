"""``nas diff``: a differentiable architecture search with any registered method and selection rule.

    nas diff --method darts-2nd --selection pt --space nb201 --dataset fashion-mnist --out DIR

Writes DIR/result.json (genotype, per-epoch α history and diagnostics, cost) and resumes from
DIR/search.pt when run again. On NB201, the found cell's published CIFAR-10/100/ImageNet16-120
accuracies are looked up when the tables are available (a transfer check, labelled as such), and
``--retrain`` retrains it from scratch with the pipeline's final recipe and tests it once (without it, the
``nas train`` command that would is printed).

Data parallel on several GPUs (or CPU processes): ``torchrun --nproc-per-node 4 -m nas_cli diff ...``
-- each process takes a slice of every batch, gradients are averaged, α stays identical on every rank
(``result.json``'s history records the largest difference between ranks each epoch).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from nas_cli.dataclass_flags import add_dataclass_flags, given_dataclass_flags
from nas_cli.launch_flags import add_launch_arguments, launch_settings
from nas_cli.plots import diff_plots
from nas_cli.rundir import prepare_run_dir
from nas_cli.size_flags import add_size_arguments, size_from_args
from nas_cli.train_cmd import add_template_arguments
from nas_core.options import field_names
from nas_core.spaces import get_space
from predictor_nas.launch import LaunchSettings, launch_searches
from supernet.api import search_config
from supernet.engine import distributed
from supernet.engine.diff_search import SUPERNET_COMPILE_MODES, DiffSearch, DiffSearchConfig
from supernet.methods import get_method, method_names


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default="darts", help=f"one of: {', '.join(method_names())}")
    p.add_argument("--selection", choices=["magnitude", "pt"], default="magnitude")
    p.add_argument("--space", default=None, help="nb201 (default), darts, s1-s4, allegro (AllegroNAS's default)")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-root", default=None)
    p.add_argument("--out", type=Path, default=Path("runs/diff"))
    p.add_argument(
        "--preset",
        choices=["paper", "quick"],
        default="quick",
        help="paper: the published search settings; quick: a small CPU-sized search",
    )
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    add_size_arguments(p, "the supernet (default: the preset's; paper: nb201 C=16 N=5, DARTS 8 cells C=16)")
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--pad-to", type=int, default=None, help="zero-pad images to this size (e.g. 32)")
    p.add_argument("--hessian-every", type=int, default=None)
    p.add_argument("--pt-tune-epochs", type=int, default=None)
    p.add_argument("--amp", choices=["auto", "bf16", "off"], default=None, help="auto: bf16 autocast on CUDA")
    p.add_argument("--channels-last", action="store_true", default=None, help="channels-last memory format")
    p.add_argument(
        "--compile", choices=list(SUPERNET_COMPILE_MODES), default=None, help="torch.compile the supernet (default off)"
    )
    p.add_argument(
        "--checkpoint-cells",
        action="store_true",
        default=None,
        help="gradient checkpointing per search cell: less memory, one more forward per backward",
    )
    p.add_argument(
        "--method-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option, e.g. --method-option reg_type=kl (repeatable)",
    )
    p.add_argument(
        "--dynamic-tiers",
        type=int,
        default=0,
        help="ICDARTS tournament-style dynamic op space (Algorithm 2) with this many tiers (3 in the paper: "
        "7 searches); 0: off. Use with --space icdarts-dynamic",
    )
    p.add_argument("--o-max", type=int, default=8, help="ops per node in the dynamic space's games (even)")
    add_template_arguments(p)
    p.add_argument(
        "--exclude-ops",
        nargs="+",
        default=None,
        metavar="OP",
        help="remove these ops from every edge (ICDARTS Table 3.4 ablations, e.g. max_pool_3x3 avg_pool_3x3)",
    )
    p.add_argument(
        "--macro-epochs",
        type=int,
        default=0,
        help="hierarchical ICDARTS: after the cell search, search the template for this many epochs "
        "(DARTS spaces; version 1: each cell's skip input, version 2: the cell type of each depth); 0: off",
    )
    p.add_argument(
        "--macro-version",
        type=int,
        choices=(1, 2),
        default=1,
        help="hierarchical ICDARTS version: 1 searches skip inputs after any method's cell search; 2 searches "
        "four cell types (micro phase, --epochs) and then their placement (--macro-epochs); needs --method icdarts",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--seeds",
        type=lambda text: [int(x) for x in text.split(",")],
        default=None,
        help="with --launcher: one search per seed (comma-separated), one job each, collected into seeds.json",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--benchmark-dir", default=None, help="NAS-Bench-201 tables for the transfer lookup")
    p.add_argument(
        "--retrain",
        action="store_true",
        help="then retrain the found NB201 cell from scratch with the pipeline's final recipe (its size, epochs, "
        "training images and schedule; NB201 protocol) and test it once (OUT/retrain)",
    )
    p.add_argument(
        "--retrain-epochs", type=int, default=None, help="epochs of that retraining (default: the pipeline's)"
    )
    add_launch_arguments(p, "the searches (one per --seeds seed)")
    p.add_argument("--quiet", action="store_true")
    add_dataclass_flags(
        p.add_argument_group("search settings (every other DiffSearchConfig field; default: the method's paper)"),
        DiffSearchConfig,
        HAND_WRITTEN,
    )


#: DiffSearchConfig fields with a hand-written flag above (or set by another option)
HAND_WRITTEN = {
    "space", "method", "method_options", "selection", "dataset", "data_root", "max_train", "pad_to", "epochs",
    "batch_size", "network", "hessian_every", "pt_tune_epochs", "amp", "channels_last", "compile",
    "checkpoint_cells", "stem", "reduce_cells", "exclude_ops", "edge_ops", "seed", "device",
}  # fmt: skip


def parse_option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"method options look like KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def settings(args: argparse.Namespace) -> DiffSearchConfig:
    """The search configuration of the flags: the preset, then every flag given."""
    get_method(args.method)  # unknown names fail here, listing the known ones
    given = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "max_train": args.max_train,
        "pad_to": args.pad_to,
        "hessian_every": args.hessian_every,
        "pt_tune_epochs": args.pt_tune_epochs,
        "amp": args.amp,
        "channels_last": args.channels_last,
        "compile": args.compile,
        "checkpoint_cells": args.checkpoint_cells,
        "stem": args.stem,
        "reduce_cells": args.reduce_cells,
        "exclude_ops": tuple(args.exclude_ops) if args.exclude_ops else None,
        "space": args.space,
        **given_dataclass_flags(args, [f for f in field_names(DiffSearchConfig) if f not in HAND_WRITTEN]),
    }
    config = search_config(
        args.method,
        selection=args.selection,
        preset=args.preset,
        dataset=args.dataset,
        data_root=args.data_root,
        seed=args.seed,
        device=args.device,
        method_options=dict(parse_option(o) for o in args.method_option),
        **{k: v for k, v in given.items() if v is not None},
    )
    return replace(config, network=size_from_args(args, config.network))  # the flags given, over the preset's


def nb201_lookup(genotype: str, folder: str | None) -> dict[str, float] | None:
    """The found cell's 200-epoch NAS-Bench-201 test accuracy on each dataset (a transfer report: the
    search saw its own dataset only)."""
    from predictor_nas.evaluators import NB201TestReporter
    from predictor_nas.tables import DATASETS

    try:
        return {d: NB201TestReporter(d, folder).report(genotype) for d in DATASETS}
    except (FileNotFoundError, ValueError):
        return None


def run(args: argparse.Namespace) -> int:
    config = settings(args)
    if args.macro_epochs and (get_space(config.space).family == "nb201" or args.macro_epochs < 1):
        raise ValueError(
            f"--macro-epochs {args.macro_epochs}: needs a positive epoch count and a DARTS-family space "
            f"(got space {config.space!r}); the template search rewires DARTS cells"
        )
    if args.macro_epochs and args.macro_version == 2 and config.method != "icdarts":
        raise ValueError(f"--macro-version 2 runs ICDARTS's phases; use --method icdarts, not {config.method!r}")
    distributed.init_from_env()
    main_rank = distributed.is_main()  # alone, or rank 0 under torchrun: the one that writes
    out = prepare_run_dir(args.out, "diff", config.to_dict()) if main_rank else Path(args.out)
    bar = tqdm(total=config.epochs, unit="epoch", desc=f"{config.method}", disable=args.quiet or not main_rank)

    def progress(entry: dict[str, Any]) -> None:
        bar.update(1)
        bar.set_postfix(valid=f"{entry['valid_acc']:.1f}", skips=entry["skip_connections"].get("normal"))

    launch = launch_settings(args, out) if main_rank else None
    if launch is not None:
        bar.close()
        return run_launched(args, config, launch, out)
    if args.seeds:
        raise ValueError("--seeds runs one search per seed as jobs: give --launcher slurm|ray|local too")
    if args.dynamic_tiers:
        return run_dynamic(args, config, out)
    if args.macro_epochs and args.macro_version == 2:
        bar.close()
        return run_hierarchical_v2(args, config, out)
    search = DiffSearch(config, run_dir=out, on_epoch=progress)
    bar.update(search.epoch)
    result = search.run()
    bar.close()
    # the template search runs on every rank (it is data parallel too); only the main rank writes
    macro = run_macro(args, config, result.genotype, out) if args.macro_epochs else None
    if not main_rank:
        return 0
    data = result.to_dict()
    if config.space == "nb201":
        data["nb201_lookup"] = {
            "note": "transfer check: published NAS-Bench-201 200-epoch test accuracy of the "
            "found cell (it was searched on " + config.dataset + ")",
            "accuracy": nb201_lookup(result.genotype, args.benchmark_dir),
        }
    if macro is not None:
        data["macro"] = macro
    (out / "result.json").write_text(json.dumps(data, indent=1))
    diff_plots(out, search, result.genotype)
    if args.retrain:
        data["retrained"] = retrain_found(args, config, result.genotype, out / "retrain")
        (out / "result.json").write_text(json.dumps(data, indent=1))
    else:
        print(
            f"the search read no test image; to measure the cell: {retrain_command(args, config, out)}", file=sys.stderr
        )
    print(
        json.dumps(
            {
                "genotype": result.genotype,
                "epochs": result.epochs_run,
                "final_valid_acc": result.history[-1]["valid_acc"] if result.history else None,
                "nb201_lookup": data.get("nb201_lookup", {}).get("accuracy"),
                "macro_skips": data.get("macro", {}).get("skips"),
                "retrained_test_accuracy": data.get("retrained", {}).get("test_accuracy"),
                "out": str(out),
            },
            indent=2,
        )
    )
    return 0


def run_launched(args: argparse.Namespace, config: DiffSearchConfig, launch: LaunchSettings, out: Path) -> int:
    """``--launcher``: the search once per seed (``--seeds``, default ``--seed``) as jobs; seeds.json holds
    every run and how often each cell was found."""
    unsupported = [
        flag
        for flag, on in (
            ("--dynamic-tiers", args.dynamic_tiers),
            ("--macro-epochs", args.macro_epochs),
            ("--retrain", args.retrain),
        )
        if on
    ]
    if unsupported:
        raise ValueError(f"--launcher sends plain searches out as jobs; {', '.join(unsupported)} runs here only")
    seeds = args.seeds or [config.seed]
    plugins = {"plugins": getattr(args, "plugin", ()), "spaces": getattr(args, "declare_space", ())}
    result = launch_searches(config, seeds, launch, out, **plugins)
    (out / "seeds.json").write_text(json.dumps(result, indent=1))
    summary = {k: result[k] for k in ("method", "seeds", "jobs", "found")}
    print(json.dumps({**summary, "out": str(out)}, indent=2))
    return 0


def final_recipe(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline's final training (:class:`predictor_nas.pipeline.FinalTraining`): the NB201 protocol,
    its training images (no validation split), schedule and size."""
    from predictor_nas.pipeline import FinalTraining

    final = FinalTraining()
    options = final.train_options() | {"epochs": args.retrain_epochs or final.epochs}
    return {"protocol": "nb201", "network": final.network, **options, "valid_fraction": 0.0}


def retrain_command(args: argparse.Namespace, config: DiffSearchConfig, out: Path) -> str:
    """The ``nas train`` command that retrains ``out``'s cell (the recipe of ``--retrain`` on NB201)."""
    command = f"nas train --arch @{out / 'result.json'} --space {config.space} --dataset {config.dataset}"
    command += f" --data-root {config.data_root}" if config.data_root else ""
    if get_space(config.space).family != "nb201":
        return f"{command} --out {out / 'retrain'}  (the {config.space} space's published protocol)"
    recipe = final_recipe(args)
    size = recipe["network"]
    command += f" --protocol nb201 --channels {size.channels} --cells-per-stage {size.cells_per_stage}"
    command += f" --epochs {recipe['epochs']} --batch-size {recipe['batch_size']} --valid-fraction 0"
    command += f" --lr-schedule {recipe['lr_schedule']}"
    command += f" --max-train {recipe['max_train']}" if recipe["max_train"] else ""
    return f"{command} --seed {config.seed} --out {out / 'retrain'}  (or add --retrain to this command)"


def retrain_found(args: argparse.Namespace, config: DiffSearchConfig, genotype: str, run_dir: Path) -> dict[str, Any]:
    """``--retrain``: the found NB201 cell trained from scratch with :func:`final_recipe` and tested once;
    resumed from ``run_dir`` like every retraining."""
    from nas_core.training.retrain import retrain

    if get_space(config.space).family != "nb201":
        raise ValueError(
            f"--retrain uses the pipeline's NB201 recipe; retrain a {config.space!r} cell with "
            f"`nas train --arch @{run_dir.parent / 'result.json'} --space {config.space}` (its published protocol)"
        )
    recipe = final_recipe(args)
    with tqdm(total=recipe["epochs"], unit="epoch", desc="retrain", disable=args.quiet) as bar:
        result = retrain(
            genotype,
            space="nb201",
            dataset=config.dataset,
            data_root=config.data_root,
            run_dir=run_dir,
            seed=config.seed,
            device=args.device,
            on_epoch=lambda metrics, total: bar.update(1),
            **recipe,
        )
    print(
        f"retrained ({recipe['epochs']} epochs, {recipe['max_train'] or 'every'} training images): "
        f"test {result.test_accuracy:.2f} %",
        file=sys.stderr,
    )
    keep = ("test_accuracy", "params_millions", "flops_millions", "latency_ms_batch1", "train_config", "network")
    recipe = {**recipe, "network": recipe["network"].to_dict()}
    return {"recipe": recipe, "run_dir": str(run_dir), **{k: v for k, v in result.to_dict().items() if k in keep}}


def run_dynamic(args: argparse.Namespace, config: DiffSearchConfig, out: Path) -> int:
    """ICDARTS's tournament (Algorithm 2) with a progress bar over its games."""
    from supernet.cdarts.api import dynamic_space_search

    games = 2**args.dynamic_tiers - 1
    bar = tqdm(total=games, unit="game", desc=f"{config.method} dynamic space", disable=args.quiet)

    def on_game(name: str, search: DiffSearch, result: Any) -> None:
        bar.update(1)
        bar.set_postfix(game=name)

    data, last = dynamic_space_search(config, args.dynamic_tiers, args.o_max, out, on_game)
    bar.close()
    (out / "result.json").write_text(json.dumps(data, indent=1))
    diff_plots(out, last, data["genotype"])
    print(json.dumps({"genotype": data["genotype"], "games": games, "out": str(out)}, indent=2))
    return 0


def run_macro(args: argparse.Namespace, config: DiffSearchConfig, genotype: str, out: Path) -> dict[str, Any]:
    """Hierarchical ICDARTS version 1 (``out/macro``) with a progress bar."""
    from supernet.cdarts.api import macro_search

    quiet = args.quiet or not distributed.is_main()
    with tqdm(total=args.macro_epochs, unit="epoch", desc="macro (skip) search", disable=quiet) as bar:
        return macro_search(config, genotype, args.macro_epochs, out / "macro", lambda entry: bar.update(1))


def run_hierarchical_v2(args: argparse.Namespace, config: DiffSearchConfig, out: Path) -> int:
    """Hierarchical ICDARTS version 2 with a progress bar over both phases' epochs."""
    from supernet.cdarts.api import hierarchical_v2_search

    quiet = args.quiet or not distributed.is_main()
    total = config.epochs + args.macro_epochs
    with tqdm(total=total, unit="epoch", desc="ICDARTS v2 (micro, macro)", disable=quiet) as bar:
        data = hierarchical_v2_search(config, args.macro_epochs, out, lambda phase, entry: bar.update(1))
    if not distributed.is_main():
        return 0
    (out / "result.json").write_text(json.dumps(data, indent=1))  # `nas train --arch @result.json` retrains it
    macro = data["macro"]
    print(json.dumps({"placement": macro["placement"], "types": macro["types"], "out": str(out)}, indent=2))
    return 0
