"""Registries: the variants issue 2 asks for, each with a formula docstring and defaults;
name lookup; and ``import scratch`` stays NumPy-only."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nnparity.scratch import REGISTRIES, SpecError
from nnparity.scratch.registry import Registry

REQUIRED = {
    "activation": (12, "identity sigmoid tanh relu leaky_relu elu selu gelu silu softplus mish "
                   "hardtanh softmax"),
    "loss": (7, "mse half_sse bce bce_with_logits cross_entropy nll huber"),
    "initializer": (10, "zeros constant uniform normal xavier_uniform xavier_normal "
                    "kaiming_uniform kaiming_normal orthogonal lecun_normal torch_default"),
    "optimizer": (5, "sgd adam adamw rmsprop adagrad"),
}  # fmt: skip
VARIANTS = [(kind, name) for kind, reg in REGISTRIES.items() for name in reg.names()]


@pytest.mark.parametrize("kind", REQUIRED)
def test_required_variants_are_registered(kind):
    least, names = REQUIRED[kind]
    registry = REGISTRIES[kind]
    assert len(registry) >= least
    assert set(names.split()) <= set(registry)
    assert registry.kind == kind


@pytest.mark.parametrize(("kind", "name"), VARIANTS)
def test_every_variant_documents_its_formula_and_builds_with_its_defaults(kind, name):
    variant = REGISTRIES[kind][name]
    assert variant.name == name
    assert any(op in variant.doc for op in ("=", "<-", "~")), "the docstring states the formula"
    assert all(isinstance(v, (bool, int, float, str)) for v in variant.defaults.values())
    variant.build()


def test_lookup_of_an_unknown_name():
    with pytest.raises(SpecError, match="unknown optimizer 'sdg'; did you mean 'sgd'"):
        REGISTRIES["optimizer"]["sdg"]
    assert "sgd" in REGISTRIES["optimizer"] and "sdg" not in REGISTRIES["optimizer"]
    assert list(REGISTRIES["optimizer"]) == REGISTRIES["optimizer"].names()


def test_register_refuses_duplicates_and_missing_defaults():
    reg: Registry[int] = Registry("thing")

    @reg.register("tag")
    def one(x: float = 1.0) -> int:
        """y = x."""
        return 1

    assert reg.names("tag") == ["one"] and reg.names("other") == []
    assert reg["one"].defaults == {"x": 1.0}
    with pytest.raises(RuntimeError, match="registered twice"):
        reg.register()(one)
    with pytest.raises(RuntimeError, match="every hyperparameter needs a default"):

        @reg.register()
        def two(x: float) -> int:
            return 2


def test_import_scratch_does_not_import_torch():
    code = "import sys, scratch; sys.exit('torch' in sys.modules or 'pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
