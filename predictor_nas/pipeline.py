"""The main job end to end: RANK-NOSH search, the winner retrained on the whole training set, reference
points retrained the same way, the winner exported (``nas pipeline``, README command 1).

Phases, each resumed when the pipeline runs again (a killed run ends with the same result):

1. ``search`` -- RANK-NOSH on the pool in ``OUT/search`` (validation only);
2. ``random search`` -- the reference search: random search at the same epoch budget and top budget,
   on the same real training (its own pool, ``OUT/random``);
3. ``retrain`` -- the winner and the references retrained from scratch with the same protocol (the
   NAS-Bench-201 recipe: SGD 0.1 Nesterov, cosine moved every batch, weight decay 5e-4, crop + flip; epochs
   and training images shortened to :class:`FinalTraining`'s, the recipe ``scripts/bench_final_recipe.py`` chose
   on validation), once per retraining seed (``FinalTraining.seeds``), each tested once on
   the test split: ``winner``, ``all_conv3x3`` (the NB201 cell with ``nor_conv_3x3`` on every edge),
   ``random_search`` (the random search's incumbent) and ``plain_cnn`` (a hand-designed VGG-style CNN of
   the winner's parameter count); ``OUT/final/NAME/seed_S``. The winner ``beats``, ``ties`` or
   ``loses`` to each reference by the 95 % interval of the difference of their mean test accuracies
   (Welch, two-sided, :func:`predictor_nas.stats.verdict`): above zero, below zero, or containing it;
   with one retraining seed there is no interval and every comparison is a tie;
4. ``export`` -- the winner as ``OUT/model.pt2`` (``torch.export``) and ``OUT/model.onnx`` when the
   ``onnx`` and ``onnxscript`` packages are installed, and ``OUT/README.md`` with an inference snippet.

``OUT/pipeline.json`` holds the comparison (test accuracy per seed and its mean, sample SD and 95 %
interval, parameters, FLOPs, CPU latency per image, training time), the verdicts, and each phase's wall
seconds; ``nas report OUT`` renders it with the search's plots. The test split is read only in
phase 3, after both searches have returned.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from nas_core.presets import NETWORKS
from nas_core.training.retrain_cache import RetrainCache
from nas_core.training.trainer import LR_SCHEDULES
from nas_core.vocabulary import NetworkSize
from predictor_nas.constraint import CostLimit
from predictor_nas.launch import WorkerFleet, serving
from predictor_nas.search import RankNoshConfig
from predictor_nas.stats import summarize, verdict, welch
from predictor_nas.study import CandidateTraining, Study, search_preset

ALL_CONV3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
REFERENCES = ("all_conv3x3", "random_search", "plain_cnn")


@dataclass
class FinalTraining:
    """How the winner and the references are retrained: the NB201 protocol (``TrainConfig`` preset
    ``nb201``) with the epochs, training images, schedule and network size set here, once per seed
    ``seed, seed + 1, ..., seed + seeds - 1`` (``seeds``: the retrainings behind each verdict's interval).
    The default recipe (1 epoch on 25,000 images, the cosine rate moved every batch) is the most accurate on
    validation whose predicted ``nas pipeline`` fits 10 minutes on 2 CPU cores (``scripts/bench_final_recipe.py``,
    ``benchmarks/results/bench_final_recipe.json``: 81.1 % validation accuracy, against 87.5 % for 3 epochs on
    25,000 images at 16 minutes); C=8 and batch 128 stand as settings, not measured."""

    #: size of the retrained networks (C channels, N cells per stage)
    network: NetworkSize = NETWORKS["quick"]
    #: training epochs of each retraining (the NB201 protocol's 200, shortened)
    epochs: int = 1
    #: training batch size (images)
    batch_size: int = 128
    #: SGD learning rate at the start of the cosine schedule
    lr: float = 0.1
    #: retrainings per network, seeds seed .. seed + seeds - 1 (count)
    seeds: int = 3
    #: training images of each retraining, a seeded subset of the training split (None: every training image)
    images: int | None = 25000
    #: when the cosine rate moves: every batch (``step``, NAS-Bench-201's own code) or once per epoch (``epoch``)
    lr_schedule: str = "step"

    def __post_init__(self) -> None:
        self.network = NetworkSize.parse(self.network)
        if self.seeds < 1:
            raise ValueError(f"FinalTraining.seeds must be >= 1, got {self.seeds}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"FinalTraining.lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.images is not None and self.images < 1:
            raise ValueError(f"FinalTraining.images must be a positive count or None (every image), got {self.images}")

    def train_options(self) -> dict[str, Any]:
        """The recipe as :func:`~nas_core.training.retrain.train_network` options (size and split aside)."""
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "lr_schedule": self.lr_schedule,
            "max_train": self.images,
        }


@dataclass
class PipelineConfig:
    search: RankNoshConfig = field(default_factory=lambda: search_preset("quick"))
    training: CandidateTraining = field(default_factory=CandidateTraining)
    final: FinalTraining = field(default_factory=FinalTraining)
    references: tuple[str, ...] = REFERENCES
    #: the run's one seed: both searches (RANK-NOSH's ``search.seed`` is set to it), their pools' data split
    #: and the first retraining seed
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.references) - set(REFERENCES))
        if unknown:
            raise ValueError(f"unknown reference points {unknown}; known: {list(REFERENCES)}")
        if self.search.seed != self.seed:
            self.search = replace(self.search, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Phase = Callable[[str, int, int], None]  # (name, total, done so far)


def _random_search(
    config: PipelineConfig,
    out: Path,
    on_progress: Any = None,
    limit: CostLimit | None = None,
    workers: WorkerFleet | None = None,
) -> Any:
    """Random search at the RANK-NOSH budget, observing the top budget, on its own real-training pool: the
    same Study surface with another strategy (the same seed: the same data split and candidate training),
    under the same cost limit."""
    from predictor_nas.strategies import RandomSearch

    strategy = RandomSearch(fidelity_epochs=max(config.search.budgets))
    with (
        Study.create(config.search, training=config.training, run_dir=out, strategy=strategy, limit=limit) as study,
        serving(workers, study.pool.url),
    ):
        return study.optimize(on_progress=on_progress)


def finished_retraining(
    name: str,
    arch: str | None,
    config: PipelineConfig,
    out: Path,
    params: int | None,
    export: bool,
    seed: int,
    cache: RetrainCache | None = None,
    threads: int | None = None,
) -> dict[str, Any] | None:
    """:func:`retrain_final`'s row when it needs no training -- read back from ``out``, or copied from the
    cache (for a training on ``threads`` CPU threads) -- else None, with ``out/final/NAME/seed_S`` ready for it
    (a former target's folder moved aside)."""
    run_dir = out / "final" / name / f"seed_{seed}"
    target = {"arch": arch, "params": params}
    marker = run_dir / "target.json"
    if marker.exists() and json.loads(marker.read_text()) != target:
        # a search given more budget found another winner: this retraining is of the former one; kept aside
        run_dir.rename(run_dir.with_name(f"{run_dir.name}.superseded-{time.time_ns()}"))
    done = run_dir / "result.json"
    if done.exists():
        return json.loads(done.read_text())
    run_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(target))
    cached = cache.get(retraining_inputs(arch, params, config, seed, export, threads), run_dir) if cache else None
    if cached is None:
        return None
    data = {**cached, "name": name}
    done.write_text(json.dumps(data, indent=2))
    return data


def retrain_final(
    name: str,
    arch: str | None,
    config: PipelineConfig,
    out: Path,
    params: int | None,
    on_epoch: Any,
    export: bool,
    seed: int,
    cache: RetrainCache | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Retrain ``arch`` (None: the size-matched plain CNN of ``params`` parameters) with ``config.final``'s
    protocol on its training images with ``seed`` and test it once; resumed from ``out/final/NAME/seed_S``,
    and a finished one is read back, not re-tested -- unless it retrained another network (a longer search's
    new winner, or a plain CNN sized to it): that folder is moved aside to ``seed_S.superseded-TIME``.
    ``cache``: a retraining of equal inputs (:func:`retraining_inputs`) done by an earlier run is copied
    from it instead (its row says ``cached``), and a new one is stored there. ``threads``: the CPU threads it
    trains on (default: this process's)."""
    from nas_core.training.retrain import retrain, train_network

    if threads:
        torch.set_num_threads(threads)
    finished = finished_retraining(name, arch, config, out, params, export, seed, cache, threads)
    if finished is not None:
        return finished
    run_dir = out / "final" / name / f"seed_{seed}"
    inputs = retraining_inputs(arch, params, config, seed, export, threads) if cache else {}
    final, training = config.final, config.training
    common = dict(
        dataset=training.dataset,
        data_root=training.data_root,
        run_dir=run_dir,
        valid_fraction=0.0,  # no validation split: the recipe's training images all train the final model
        pad_to=training.pad_to,
        seed=seed,
        device=training.device,
        export=export,
        on_epoch=on_epoch,
        **final.train_options(),
    )
    if arch is not None:
        result = retrain(arch, space="nb201", protocol="nb201", network=final.network, **common)
    else:
        from nas_core.networks.reference import size_matched_cnn

        def build(num_classes: int, in_channels: int) -> Any:
            return size_matched_cnn(params or 0, num_classes, in_channels)

        result = train_network(build, name="plain CNN (size-matched)", protocol="nb201", **common)
    data = {"name": name, **result.to_dict(), "train_seconds": sum(h["seconds"] for h in result.history)}
    data["threads"] = torch.get_num_threads() if result.device == "cpu" else None
    if arch is None:
        data["network"] = {"width": result.model.width}
    (run_dir / "result.json").write_text(json.dumps(data, indent=2))
    if cache:
        cache.put(inputs, run_dir)
    return data


def default_retrain_processes(device: str) -> int:
    """How many retrainings run at once: one per usable core on a CPU (independent single-thread trainings
    beat one training on every core: 1.36x the throughput on 2 cores, issue 44), one on a GPU."""
    from nas_core.training import resolve_device, usable_cpu_cores

    return usable_cpu_cores() if resolve_device(device).type == "cpu" else 1


def _retrain_in_processes(
    jobs: list[tuple[str, str | None]],
    seeds: list[int],
    config: PipelineConfig,
    out: Path,
    cache: RetrainCache | None,
    processes: int,
    on_phase: Phase | None,
    on_progress: Callable[[int, float | None], None] | None,
) -> dict[str, list[dict[str, Any]]]:
    """Every (network, seed) retraining of :func:`retrain_final`, ``processes`` at a time in spawned processes
    (:func:`~nas_core.training.spawned_process_pool`); the plain CNN's go out once a winner retraining has
    given the size to match. Each resumes from and writes its own folder, as in one process."""
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    from nas_core.training import cpu_share, spawned_process_pool

    epochs, threads = config.final.epochs, cpu_share(processes)  # what each spawned process trains on
    if on_phase:
        on_phase(
            f"retrain {len(jobs)} networks x {len(seeds)} seeds, {processes} at a time",
            len(jobs) * len(seeds) * epochs,
            0,
        )
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    with spawned_process_pool(processes) as pool:

        def submit(name: str, arch: str | None, seed: int, params: int | None) -> Future:
            """The retraining's future: done at once when it needs no training (no process is started)."""
            export = name == "winner" and seed == seeds[0]
            finished = finished_retraining(name, arch, config, out, params, export, seed, cache, threads)
            if finished is None:
                return pool.submit(retrain_final, name, arch, config, out, params, None, export, seed, cache, threads)
            future: Future = Future()
            future.set_result(finished)
            return future

        pending = {submit(n, a, s, None): (n, s) for s in seeds for n, a in jobs if n != "plain_cnn"}
        cnn_waits = any(n == "plain_cnn" for n, _ in jobs)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                name, seed = pending.pop(future)
                rows[(name, seed)] = future.result()
                if name == "winner" and cnn_waits:  # every winner retraining has the same size
                    params = round(rows[(name, seed)]["params_millions"] * 1e6)
                    pending |= {submit("plain_cnn", None, s, params): ("plain_cnn", s) for s in seeds}
                    cnn_waits = False
                if on_progress:
                    on_progress(len(rows) * epochs, None)
    return {name: [rows[(name, s)] for s in seeds] for name, _ in jobs}


def retraining_inputs(
    arch: str | None, params: int | None, config: PipelineConfig, seed: int, export: bool, threads: int | None = None
) -> dict[str, Any]:
    """Everything that decides a final retraining's result: the network, the data (fingerprint of the
    images), the recipe, the seed, whether it is exported, and the device, CPU threads (default this
    process's), code and library versions (:func:`~nas_core.training.retrain_cache.environment`)."""
    from nas_core.training import resolve_device
    from nas_core.training.retrain_cache import data_fingerprint, environment

    final, training = config.final, config.training
    return {
        "network": {"nb201_cell": arch, "size": str(final.network)} if arch else {"size_matched_cnn_params": params},
        "recipe": {
            "protocol": "nb201",
            "epochs": final.epochs,
            "batch_size": final.batch_size,
            "lr": final.lr,
            "images": final.images,
            "lr_schedule": final.lr_schedule,
        },
        "dataset": training.dataset,
        "data": data_fingerprint(training.dataset, training.data_root),
        "pad_to": training.pad_to,
        "valid_fraction": 0.0,
        "seed": seed,
        "export": export,
        **environment(resolve_device(training.device), threads),
    }


def _export(out: Path, winner: dict[str, Any]) -> dict[str, Any]:
    """The winner's ``model.pt2`` (and ``model.onnx`` when onnx is installed) at the top of the run dir."""

    exported: dict[str, Any] = {}
    pt2 = out / "model.pt2"
    shutil.copyfile(winner["exported"], pt2)
    exported["torch_export"] = str(pt2)
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        exported["onnx"] = 'skipped: pip install -e ".[export]" (onnx, onnxscript) to also write model.onnx'
    else:
        example = torch.randn(2, *winner["input_shape"])
        try:  # from the exported program: the same graph, any batch size
            torch.onnx.export(torch.export.load(pt2), (example,), str(out / "model.onnx"), dynamo=True, verbose=False)
            exported["onnx"] = str(out / "model.onnx")
        except Exception as exc:  # an op without an ONNX translation: the .pt2 stands, say why there is no .onnx
            exported["onnx"] = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    (out / "README.md").write_text(inference_readme(winner))
    return exported


def inference_readme(winner: dict[str, Any]) -> str:
    shape = ", ".join(str(s) for s in winner["input_shape"])
    mean, std = ([round(v, 4) for v in winner["normalization"][k]] for k in ("mean", "std"))
    return f"""# The found network

`{winner["arch"]}` (NAS-Bench-201 cell, {winner["network"]}), retrained on all {winner["dataset"]} training
images: **{winner["test_accuracy"]:.2f} %** test accuracy, {winner["params_millions"]:.3f} M parameters,
{winner["flops_millions"]:.1f} MFLOPs, {winner["latency_ms_batch1"]:.2f} ms per image on {winner["device"]}.

```python
import torch  # images: a uint8 tensor (batch, {shape})
model = torch.export.load("model.pt2").module()
logits = model((images / 255 - torch.tensor({mean}).view(1, -1, 1, 1)) / torch.tensor({std}).view(1, -1, 1, 1))
```

`model.onnx`, when present (`pip install -e ".[export]"`), takes the same normalised input.
"""


def run_pipeline(
    config: PipelineConfig,
    out: str | Path,
    on_phase: Phase | None = None,
    on_progress: Callable[[int, float | None], None] | None = None,
    on_epoch: Callable[[Any, int], None] | None = None,
    limit: CostLimit | None = None,
    workers: WorkerFleet | None = None,
    cache: RetrainCache | None = None,
    retrain_processes: int = 1,
) -> dict[str, Any]:
    """Run (or resume) the pipeline in ``out``; returns (and writes ``out/pipeline.json``) the comparison.
    ``on_phase(name, total, done)`` when a phase starts (totals in epochs), ``on_progress(epochs, best
    validation)`` during the searches, ``on_epoch(metrics, total)`` during the retrainings. ``limit``: a
    :class:`~predictor_nas.constraint.CostLimit` both searches keep to (the all-``nor_conv_3x3`` cell and
    the plain CNN stay reference points, whatever they cost). ``workers``: the searches' candidates are
    trained by these scheduler jobs (:class:`~predictor_nas.launch.WorkerFleet`) on the searches' pools in
    ``out`` (SQLite: the jobs must reach ``out``'s file system from one node); the retrainings run here.
    ``cache``: retrainings whose every input equals an earlier run's are reused (:func:`retrain_final`);
    ``nas pipeline`` passes :meth:`RetrainCache.default`. ``retrain_processes`` > 1: the retrainings run that
    many at a time, each in a process of its own with its share of the cores (:func:`default_retrain_processes`:
    one single-thread process per core on a CPU); progress then comes per finished retraining
    (``on_progress(epochs done, None)``), not per epoch."""
    if retrain_processes < 1:
        raise ValueError(f"retrain_processes must be >= 1, got {retrain_processes}")
    out = Path(out)
    if workers is not None:
        config = replace(config, training=replace(config.training, external_workers=True))
    out.mkdir(parents=True, exist_ok=True)

    def phase(name: str, total: int, done: int = 0) -> None:
        if on_phase:
            on_phase(name, total, done)

    phase_seconds: dict[str, float] = {}

    @contextmanager
    def timed(name: str) -> Iterator[None]:
        """Adds the block's wall seconds to ``phase_seconds[name]`` when it completes."""
        started = time.time()
        yield
        phase_seconds[name] = phase_seconds.get(name, 0.0) + time.time() - started

    search_dir = out / "search"
    with (
        timed("search"),
        Study.create(config.search, training=config.training, run_dir=search_dir, limit=limit) as study,
        serving(workers, study.pool.url),
    ):
        phase("search", int(config.search.budget_epochs), study.spent_epochs())
        result = study.optimize(on_progress=on_progress)
        lineage = study.lineage_of(result.best_arch)
    if result.best_arch is None:
        raise RuntimeError("the search trained no candidate; raise budget_epochs")
    runs: dict[str, list[dict[str, Any]]] = {}
    random_best = None
    if "random_search" in config.references:
        phase("random search", int(config.search.budget_epochs))
        with timed("random search"):
            baseline = _random_search(config, out / "random", on_progress, limit, workers)
        random_best = baseline.best_arch
    # both searches have returned: from here on the test split is read, once per network and seed
    jobs: list[tuple[str, str | None]] = [("winner", result.best_arch)]
    if "all_conv3x3" in config.references:
        jobs.append(("all_conv3x3", ALL_CONV3X3))
    if random_best is not None:
        jobs.append(("random_search", random_best))
    if "plain_cnn" in config.references:
        jobs.append(("plain_cnn", None))
    seeds = [config.seed + i for i in range(config.final.seeds)]
    if retrain_processes > 1:
        with timed(f"retrain ({retrain_processes} processes)"):
            runs = _retrain_in_processes(jobs, seeds, config, out, cache, retrain_processes, on_phase, on_progress)
    else:
        for seed in seeds:
            for name, arch in jobs:
                phase(f"retrain {name} (seed {seed})", config.final.epochs)
                params = round(runs["winner"][0]["params_millions"] * 1e6) if "winner" in runs else None
                with timed(f"retrain {name}"):
                    export = name == "winner" and seed == seeds[0]
                    row = retrain_final(name, arch, config, out, params, on_epoch, export, seed, cache)
                runs.setdefault(name, []).append(row)
    with timed("export"):
        exported = _export(out, runs["winner"][0])
    winner_tests = [r["test_accuracy"] for r in runs["winner"]]
    verdicts = {}
    for name, rows in runs.items():
        if name != "winner":
            difference = welch(winner_tests, [r["test_accuracy"] for r in rows])
            verdicts[name] = {"verdict": verdict(difference), **difference}
    summary = {
        "config": config.to_dict(),
        "search": {
            "best_arch": result.best_arch,
            "validation_accuracy": result.observed,
            "cost_epochs": result.cost_epochs,
            "n_candidates": result.n_candidates,
            "lineage": lineage,
            "curve": result.curve,
        },
        "random_search": {"best_arch": random_best} if random_best else None,
        "limit": limit.to_dict() if limit else None,
        "final": {name: final_row(rows) for name, rows in runs.items()},
        "final_history": {name: rows[0]["history"] for name, rows in runs.items()},
        "exported": exported,
        "retraining_seeds": seeds,
        "verdict_rule": "winner minus reference, mean test accuracy over the retraining seeds: the 95 % interval "
        "of the difference (Welch, two-sided) above 0 = beats, below 0 = loses, else ties (always ties "
        "with one seed)",
        "verdicts": verdicts,
        "phase_seconds": phase_seconds,
        "retrain_cache": str(cache.root) if cache else None,
    }
    (out / "pipeline.json").write_text(json.dumps(summary, indent=2))
    return summary


def final_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One network's retrainings as one row: the first seed's details (architecture, size, latency,
    exported model), ``test_accuracy`` = the mean over seeds, ``test_accuracy_seeds`` and ``test`` (n, mean,
    sample SD, 95 % interval), ``train_seconds`` = the mean."""
    row = {k: v for k, v in rows[0].items() if k != "history"}
    tests = [r["test_accuracy"] for r in rows]
    row["test"] = summarize(tests)
    row["test_accuracy"] = row["test"]["mean"]
    row["test_accuracy_seeds"] = tests
    row["train_seconds"] = sum(r["train_seconds"] for r in rows) / len(rows)
    row["cached_seeds"] = sum("cached" in r for r in rows)
    row.pop("cached", None)
    return row
