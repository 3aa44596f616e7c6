"""triangulate: scratch, PyTorch and JAX from the same weights and data; the odd one out is
named. Correct scratch: all agree; a bug planted in the torch twin is blamed on torch; a bug
planted in scratch is blamed on scratch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install nnparity[jax])")
pytest.importorskip("optax", reason="jax is not installed (pip install nnparity[jax])")

from torch import nn  # noqa: E402

from nnparity.reference.jax import triangulate  # noqa: E402
from nnparity.reference.jax.triangulate import Row  # noqa: E402
from nnparity.reference.variants import torch_activations, torch_optimizers  # noqa: E402
from nnparity.scratch import Activation, Optimizer, Spec, SpecError, build  # noqa: E402
from nnparity.scratch.activations import activations  # noqa: E402

SPECS = [
    "4-6-3 tanh,identity loss=cross_entropy opt=adam(lr=0.01)",
    "3-5-1 gelu,sigmoid loss=bce opt=sgd(lr=0.1,momentum=0.9,dampening=0.2)",
    "3-5-2 leaky_relu,identity loss=mse opt=rmsprop(momentum=0.5,centered=true)",
    "3-5-4 softplus,log_softmax loss=nll opt=adagrad(lr_decay=0.1)",
    "3-5-1 elu,identity loss=bce_with_logits opt=adamw(amsgrad=true)",
    "3-5-3 mish,hardtanh loss=huber opt=sgd(lr=0.1,momentum=0.9,nesterov=true)",
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("text", SPECS)
def test_correct_scratch_all_three_agree(text, dtype):
    spec = Spec.parse(text).replace(dtype=dtype)
    for mode in ("free", "resync"):
        result = triangulate(spec, 3, mode)
        assert result.odd_one_out is None, result.verdict()
        assert result.verdict().startswith("all three agree")
        stages = {r.stage for r in result.rows}
        assert stages == {"forward", "loss", "grad", "update", "optimizer_state"}
        assert len({r.step for r in result.rows}) == 3


SPEC = Spec.parse("4-6-3 tanh,identity loss=mse opt=adam(lr=0.01) seed=1")


@pytest.fixture
def fresh_build():
    """build() caches networks by spec: a planted registry entry must not leak either way."""
    build.cache_clear()
    yield
    build.cache_clear()


def _plant(monkeypatch, registry, name, make):
    variant = registry[name]
    monkeypatch.setitem(registry._variants, name, dataclasses.replace(variant, make=make))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bug_in_the_torch_twin_is_blamed_on_torch(monkeypatch, fresh_build, dtype):
    """The torch twin's tanh replaced by a slightly different function (not scratch's)."""

    class Off(nn.Module):
        def forward(self, z):
            return nn.functional.tanh(z) * 1.01

    _plant(monkeypatch, torch_activations, "tanh", lambda: Off())
    result = triangulate(SPEC.replace(dtype=dtype), 3)
    assert result.odd_one_out == "torch", result.verdict()
    first = result.disagreements[0]
    assert (first.step, first.stage) == (1, "forward")
    assert result.verdict().startswith("PyTorch is the odd one out")


def test_bug_in_the_torch_optimizer_is_blamed_on_torch(monkeypatch, fresh_build):
    import torch

    _plant(
        monkeypatch,
        torch_optimizers,
        "adam",
        lambda **kw: lambda ps: torch.optim.Adam(ps, lr=kw["lr"], eps=1e-3, foreach=False),
    )
    result = triangulate(SPEC, 2)
    assert result.odd_one_out == "torch", result.verdict()
    assert result.disagreements[0].stage == "update"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bug_in_a_scratch_activation_vjp_is_blamed_on_scratch(monkeypatch, fresh_build, dtype):
    good = activations["tanh"].build()
    wrong = Activation(good.f, lambda z, a, g: g * (1.0 - a))  # 1 - a instead of 1 - a^2
    _plant(monkeypatch, activations, "tanh", lambda: wrong)
    result = triangulate(SPEC.replace(dtype=dtype), 3)
    assert result.odd_one_out == "scratch", result.verdict()
    first = result.disagreements[0]
    assert (first.step, first.stage) == (1, "grad")
    assert result.verdict().startswith("scratch is the odd one out")


@pytest.mark.parametrize("mode", ["free", "resync"])
def test_bug_in_a_scratch_optimizer_is_blamed_on_scratch(mode):
    """scratch's Adam with a typo in beta2 (0.99 for the declared 0.999)."""
    from nnparity.scratch.optimizers import adam

    typo = adam(lr=0.01, beta2=0.99)
    wrong = Optimizer(typo.init, lambda g, s, p, **kw: typo.update(g, s, p))
    result = triangulate(SPEC, 3, mode, net=build(SPEC)._replace(opt=wrong))
    assert result.odd_one_out == "scratch", result.verdict()
    first = result.disagreements[0]
    assert (first.step, first.stage) == (1, "optimizer_state")
    assert first.tensor.startswith("exp_avg_sq.")


def test_the_verdict_rules():
    both = (False, False, True)
    assert Row(1, "grad", "W1", (1.0, 1.0, 0.0), both).odd == "scratch"
    assert Row(1, "grad", "W1", (1.0, 0.0, 1.0), (False, True, False)).odd == "torch"
    assert Row(1, "grad", "W1", (0.0, 1.0, 1.0), (True, False, False)).odd == "jax"
    assert Row(1, "grad", "W1", (1.0, 1.0, 1.0), (False, False, False)).odd == "all"
    assert Row(1, "grad", "W1", (1.0, 0.0, 0.0), (False, True, True)).odd == "unclear"
    assert Row(1, "grad", "W1", (0.0, 0.0, 0.0), (True, True, True)).odd is None


def test_same_weights_and_data_can_be_given():
    spec = Spec.parse("2-2 relu loss=mse opt=sgd(lr=0.1)")
    params = {"W1": np.eye(2), "b1": np.zeros(2)}
    X = np.array([[0.0, 1.0], [-1.0, 0.0]])  # z lands exactly on relu's kink
    result = triangulate(spec, 2, params=params, data=(X, np.ones((2, 2))))
    assert result.odd_one_out is None, result.verdict()


def test_bad_arguments_are_named():
    with pytest.raises(SpecError, match="mode must be one of free, resync"):
        triangulate(SPEC, 1, "sideways")
    with pytest.raises(SpecError, match="steps must be >= 1"):
        triangulate(SPEC, 0)
