"""One registry shape (nas_core.registry) for operations, spaces, methods, proxies, strategies and datasets."""

from __future__ import annotations

import pytest

from nas_core.data import DATASETS
from nas_core.ops import OPS
from nas_core.registry import Registry, UnknownNameError
from nas_core.spaces import SPACES
from predictor_nas.proxies import PROXIES
from predictor_nas.strategies import STRATEGIES
from supernet.methods.base import METHODS


def test_a_registry_adds_lists_finds_and_names_the_known_on_a_miss():
    colours: Registry[int] = Registry("colour")
    colours.add("red", 1)

    @colours.register("blue")
    def blue() -> int:
        return 2

    assert colours.names() == ["blue", "red"] and colours["red"] == 1 and colours.get("blue") is blue
    assert "red" in colours and "green" not in colours and len(colours) == 2 and dict(colours)["red"] == 1
    with pytest.raises(UnknownNameError, match=r"^unknown colour 'green'; known colours: blue, red$") as miss:
        colours.get("green")
    assert isinstance(miss.value, KeyError) and isinstance(miss.value, ValueError)  # either except catches it
    with pytest.raises(ValueError, match="colour 'red' is already registered"):
        colours.add("red", 3)  # never a silent replacement
    assert colours["red"] == 1


@pytest.mark.parametrize(
    "registry,kind,some",
    [
        (OPS, "operation", "nor_conv_3x3"),
        (SPACES, "search space", "nb201"),
        (METHODS, "method", "drnas"),
        (PROXIES, "proxy", "synflow"),
        (STRATEGIES, "strategy", "rea"),
        (DATASETS, "dataset", "digits"),
    ],
)
def test_every_lookup_by_name_is_one_registry(registry, kind, some):
    assert isinstance(registry, Registry) and registry.kind == kind and some in registry.names()
    with pytest.raises(UnknownNameError, match=f"unknown {kind} 'nope'; known .*{some}"):
        registry.get("nope")
