"""The generated configuration reference is current, and the docs name files that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_current():
    from scripts.docs_gen import TARGET, render

    assert TARGET.read_text() == render(), "docs/configuration.md is stale: run `python -m scripts.docs_gen`"


def test_docs_link_to_files_that_exist():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
