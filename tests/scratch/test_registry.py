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
    code = "import sys, nnparity.scratch; sys.exit(bool({'torch', 'pandas'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("3-4-1 ReLU,Sigmoid loss=BCE", "3-4-1 relu,sigmoid loss=bce"),
        (
            "3-4-3 LeakyReLU(slope=0.1),identity loss=CrossEntropyLoss",
            "3-4-3 leaky_relu(slope=0.1),identity loss=cross_entropy",
        ),
        (
            "3-4-1 tanh,sigmoid loss=MSELoss opt=Adam(lr=0.1) init=Xavier_Uniform",
            "3-4-1 tanh,sigmoid loss=mse opt=adam(lr=0.1) init=xavier_uniform",
        ),
        ("3-4-1 GELU,identity loss=smooth_l1", None),
    ],
)
def test_variant_names_resolve_in_any_case_and_style(text, canonical):
    from nnparity.scratch import Spec

    if canonical is None:
        with pytest.raises(SpecError, match="unknown loss 'smooth_l1'"):
            Spec.parse(text)
        return
    spec = Spec.parse(text)
    assert spec == Spec.parse(canonical)
    assert Spec.parse(str(spec)) == spec and str(spec) == str(Spec.parse(canonical))


def test_did_you_mean_ignores_case():
    from nnparity.scratch import Spec

    with pytest.raises(SpecError, match="did you mean 'relu'"):
        Spec.parse("3-4-1 Relux,sigmoid")
