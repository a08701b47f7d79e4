"""Writes the generated pages: ``docs/configuration.md`` (every ``nas`` subcommand's options with their
defaults, the hybrid recipe's keys, every field of every preset with its meaning, the differentiable methods'
published overrides -- from the code) and
``README.md``, ``docs/benchmarks.md`` and ``docs/cluster.md`` (from their templates and the benchmark JSONs,
:mod:`scripts.docs_figures`), so none can drift (``tests/test_docs.py`` checks the committed files).

    python -m scripts.docs_gen            # rewrite all four
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as `python scripts/NAME.py` from a checkout: its modules import each other as scripts.*
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import dataclasses
import json

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "configuration.md"
SKIP = {"help", "func", "config_file"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _options(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for action in parser._actions:
        if action.dest in SKIP:
            continue
        name = ", ".join(action.option_strings) or action.dest
        default = "required" if action.required else action.default
        if isinstance(action, argparse._StoreTrueAction):
            default = "off"
        choices = f" (one of: {', '.join(map(str, action.choices))})" if action.choices else ""
        rows.append(f"| `{_cell(name)}` | {_cell(default)} | {_cell(action.help or '')}{_cell(choices)} |")
    return rows


def field_docs(cls: type) -> dict[str, str | None]:
    """Each dataclass field's meaning, from the source: its ``#:`` comment lines above, else the ``#``
    comment ending its line (the convention of Sphinx autodoc); None for an undocumented field."""
    import ast
    import inspect
    import textwrap

    lines = textwrap.dedent(inspect.getsource(cls)).splitlines()
    names = {f.name for f in dataclasses.fields(cls)}
    docs: dict[str, str | None] = {}
    for node in ast.parse("\n".join(lines)).body[0].body:  # type: ignore[attr-defined]
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id in names):
            continue
        above, row = [], node.lineno - 2
        while row >= 0 and lines[row].strip().startswith("#:"):
            above.insert(0, lines[row].strip()[2:].strip())
            row -= 1
        end = lines[node.end_lineno - 1]  # type: ignore[operator]
        trailing = end.split("  # ", 1)[1].strip() if "  # " in end else None
        docs[node.target.id] = " ".join(above) or trailing
    return docs


def _value(value: object) -> str:
    from nas_core.vocabulary import NetworkSize

    if isinstance(value, NetworkSize):
        return f"`{value}`"
    if dataclasses.is_dataclass(value):
        return "(below)"
    return f"`{_cell(json.dumps(value, default=str))}`"


def _preset_table(cls: type, presets: dict[str, object], prefix: str = "") -> list[str]:
    """One row per field of ``cls``: its meaning, then its value in each preset (objects of ``cls``)."""
    docs = field_docs(cls)
    rows = [f"| field | meaning | {' | '.join(f'`{n}`' for n in presets)} |", "|---|---|" + "---|" * len(presets)]
    for f in dataclasses.fields(cls):
        values = " | ".join(_value(getattr(obj, f.name)) for obj in presets.values())
        rows.append(f"| `{prefix}{f.name}` | {_cell(docs[f.name] or '')} | {values} |")
    return rows


def presets() -> list[str]:
    """Every field of every preset, with its meaning (from the code's field comments) and value."""
    from nas_core.presets import NETWORKS, PROTOCOLS
    from nas_core.training.trainer import TrainConfig
    from predictor_nas.pipeline import FinalTraining
    from predictor_nas.ranker import RankerConfig
    from predictor_nas.search import RankNoshConfig
    from predictor_nas.study import SEARCH_PRESETS, CandidateTraining, search_preset
    from supernet.api import PRESETS, search_config
    from supernet.engine.diff_search import DiffSearchConfig

    searches = {name: search_preset(name) for name in SEARCH_PRESETS}
    return [
        "## Presets",
        "",
        "Every field of every preset: its meaning and unit (from the comment on the field in the code) and its",
        "value. Which preset each entry point uses when none is named: `Study.create` and `nas rank-nosh` --",
        "`tabular` on a benchmark, `quick` with real training; `CandidateTraining()` is `quick`;",
        "**`differentiable_search()` uses `paper` (the published search), `nas diff` uses `quick`** (a CPU-sized",
        "search; `--preset paper` for the published one); `nas pipeline` uses `quick` and `FinalTraining()`.",
        "",
        "### Network sizes (`nas_core.NETWORKS`, every command's `--network`)",
        "",
        "A `NetworkSize(channels, cells_per_stage)` is C and N: N cells per stage on NB201, 3N + 2 cells on DARTS",
        "spaces (N normal cells per stage and two reduction cells). `--channels` / `--cells-per-stage` override",
        "either part of the size a command starts from.",
        "",
        "| name | C | N | DARTS cells |",
        "|---|---|---|---|",
        *(f"| `{n}` | {z.channels} | {z.cells_per_stage} | {z.darts_cells} |" for n, z in NETWORKS.items()),
        "",
        "### RANK-NOSH search (`search_preset(name)`, `nas rank-nosh --preset`)",
        "",
        *_preset_table(RankNoshConfig, searches),
        "",
        *_preset_table(RankerConfig, {n: c.ranker for n, c in searches.items()}, prefix="ranker."),
        "",
        "### Candidate training (`CandidateTraining.preset(name)`)",
        "",
        *_preset_table(CandidateTraining, {n: CandidateTraining.preset(n) for n in CandidateTraining.PRESETS}),
        "",
        "### Differentiable search (`differentiable_search(method, preset=...)`, `nas diff --preset`), DARTS",
        "",
        "Each method then applies its published overrides (the table at the end) and, with `quick`, its own",
        "CPU-sized options.",
        "",
        *_preset_table(DiffSearchConfig, {n: search_config("darts", preset=n) for n in PRESETS}),
        "",
        "### Training protocols (`nas_core.PROTOCOLS`, `TrainConfig.preset(name)`: `nas train --protocol`, retraining)",
        "",
        "Network: " + ", ".join(f"`{n}` {PROTOCOLS[n]['network']}" for n in PROTOCOLS.names()) + ".",
        "",
        *_preset_table(TrainConfig, {n: TrainConfig.preset(n) for n in PROTOCOLS.names()}),
        "",
        "### The pipeline's final training (`FinalTraining()`)",
        "",
        *_preset_table(FinalTraining, {"default": FinalTraining()}),
        "",
    ]


def _method_row(name: str, method: object) -> str:
    overrides = json.dumps(dict(method.defaults), default=str)
    return f"| `{name}` | {_cell(method.paper)} | `{_cell(overrides)}` |"


def render() -> str:
    from nas_cli import build_parser
    from nas_cli.config_files import CONFIGURABLE
    from predictor_nas.hybrid import DEFAULTS
    from supernet.methods import get_method, method_names

    parser = build_parser()
    group = parser._subparsers._group_actions[0]
    subparsers = group.choices
    helps = {a.dest: a.help for a in group._choices_actions}
    lines = [
        "# Configuration reference",
        "",
        "Generated by `python -m scripts.docs_gen` from the code; do not edit by hand.",
        "",
        f"Every option can also come from a YAML/JSON file with `--config FILE` ({', '.join(CONFIGURABLE)}):",
        "keys are the option names below (`-` or `_`), flags given on the command line override the file, and",
        "an unknown key is an error that lists the valid ones. `nas config show METHOD` prints a differentiable",
        "method's resolved settings with the paper they come from.",
        "",
    ]
    for name, sub in subparsers.items():
        about = _cell(helps.get(name) or "")
        lines += [f"## `nas {name}`", "", about[:1].upper() + about[1:] + ".", ""]
        lines += [*_options(sub), ""]
        if sub._subparsers is not None:
            for child_name, child in sub._subparsers._group_actions[0].choices.items():
                lines += [f"### `nas {name} {child_name}`", "", *_options(child), ""]
    lines += [
        "## `nas hybrid --config` recipe keys",
        "",
        "| key | default |",
        "|---|---|",
        *(f"| `{k}` | `{_cell(json.dumps(v))}` |" for k, v in DEFAULTS.items()),
        "",
        *presets(),
        "## Differentiable methods: published overrides of the search defaults",
        "",
        "| method | paper | overrides |",
        "|---|---|---|",
        *(_method_row(m, get_method(m)) for m in method_names()),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    from scripts.docs_figures import write_all

    TARGET.write_text(render())
    for path in [TARGET, *write_all()]:
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
