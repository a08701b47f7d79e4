"""The generated pages are current (the configuration reference from the code, README.md,
docs/benchmarks.md and docs/cluster.md from their templates and the benchmark JSONs), and the docs name
files that exist."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_current():
    from scripts.docs_gen import TARGET, render

    assert TARGET.read_text() == render(), "docs/configuration.md is stale: run `python -m scripts.docs_gen`"


def test_docs_link_to_files_that_exist():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_every_stated_count_of_differentiable_methods_is_the_registrys():
    """Issue 43 (10): the quickstart said 16 methods while the CLI listed 18."""
    from supernet.methods import method_names

    stated = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        stated += [(page.name, int(n)) for n in re.findall(r"(\d+) (?:differentiable )?methods\b", page.read_text())]
    assert stated, "no page states how many differentiable methods there are"
    assert all(n == len(method_names()) for _, n in stated), f"{stated} vs {len(method_names())} registered"


@pytest.mark.parametrize("page", ["README.md", "docs/benchmarks.md", "docs/cluster.md"])
def test_published_figures_match_their_json(page):
    from scripts.docs_figures import drift

    diff = drift(ROOT / page)
    assert not diff, (
        f"{page} differs from what its template and benchmarks/results/*.json give (edit docs/templates/, "
        "then `python -m scripts.docs_gen`):\n" + "\n".join(diff[:20])
    )


def test_a_hand_edited_figure_is_caught(tmp_path, monkeypatch):
    """A figure typed into the page instead of coming from its JSON is reported, with its line."""
    import scripts.docs_figures as figures

    page = ROOT / "docs" / "benchmarks.md"
    text = page.read_text()
    figure = "| rank-nosh | 5 | 91.21 ± 0.20 |"
    assert figure in text, "the NOSH table's first row moved: update this test's figure"
    edited = tmp_path / "docs" / "benchmarks.md"
    edited.parent.mkdir()
    edited.write_text(text.replace(figure, "| rank-nosh | 5 | 91.71 ± 0.20 |"))
    monkeypatch.setattr(figures, "ROOT", tmp_path)
    monkeypatch.setitem(figures.TEMPLATES, edited, figures.TEMPLATES[page])
    diff = figures.drift(edited)
    assert any(line.startswith("+| rank-nosh | 5 | 91.71") for line in diff)
    assert any(line.startswith("-| rank-nosh | 5 | 91.21") for line in diff)


def test_every_preset_field_has_a_meaning_in_the_code():
    """docs/configuration.md's preset tables take each field's meaning from its comment: none is blank."""
    from nas_core.training.trainer import TrainConfig
    from predictor_nas.pipeline import FinalTraining
    from predictor_nas.ranker import RankerConfig
    from predictor_nas.search import RankNoshConfig
    from predictor_nas.study import CandidateTraining
    from scripts.docs_gen import field_docs
    from supernet.engine.diff_search import DiffSearchConfig

    for cls in (RankNoshConfig, RankerConfig, CandidateTraining, FinalTraining, TrainConfig, DiffSearchConfig):
        blank = [name for name, doc in field_docs(cls).items() if not doc]
        assert not blank, f"{cls.__name__} fields without a #: comment: {blank}"
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert (
        "| `budget_epochs` | the search's total training budget" in text
        and "`differentiable_search()` uses `paper`" in text
    )
