"""Every variant is registered on both sides, under one name, with the same defaults."""

from __future__ import annotations

import pytest

from reference.variants import (
    torch_activations,
    torch_initializers,
    torch_losses,
    torch_optimizers,
)
from scratch import REGISTRIES

TORCH = {
    "activation": torch_activations,
    "initializer": torch_initializers,
    "loss": torch_losses,
    "optimizer": torch_optimizers,
}


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_same_names_both_sides(kind):
    assert list(REGISTRIES[kind]) == list(TORCH[kind])


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_same_hyperparameters_and_defaults(kind):
    for name in REGISTRIES[kind]:
        assert REGISTRIES[kind][name].defaults == TORCH[kind][name].defaults, name


def test_minimum_counts_from_the_issue():
    assert len(REGISTRIES["activation"]) >= 12
    assert len(REGISTRIES["loss"]) >= 7
    assert len(REGISTRIES["initializer"]) >= 10
    assert len(REGISTRIES["optimizer"]) >= 5
