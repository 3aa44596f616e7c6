"""Edges that only a mutation run shows unpinned: each hyperparameter range at its boundary (the
edge value accepted where torch 2.13 accepts it, the first value outside refused with its
message), uniform's empty interval, the registry's bookkeeping of a variant, and the layers that
take a number in parameter names."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.scratch import Spec, SpecError, activations, initializers, losses, optimizers
from nnparity.scratch.registry import Registry

TINY = 1e-12
LOWER_INCLUSIVE = {  # (optimizer, hyperparameter): torch checks `0 <= value` and so does scratch
    ("sgd", "momentum"),
    ("sgd", "dampening"),
    ("sgd", "weight_decay"),
    *((o, k) for o in ("adam", "adamw") for k in ("beta1", "beta2", "eps", "weight_decay")),
    *(("rmsprop", k) for k in ("alpha", "eps", "weight_decay", "momentum")),
    *(("adagrad", k) for k in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps")),
}
# lr must be > 0 in scratch (torch accepts 0, a run in which nothing moves); the betas and
# RMSprop's alpha must be < 1 (torch accepts alpha >= 1: no average at all).
LR = [(o, "lr") for o in ("sgd", "adam", "adamw", "rmsprop", "adagrad")]
BELOW_ONE = [("adam", "beta1"), ("adam", "beta2"), ("adamw", "beta1"), ("adamw", "beta2")]
BELOW_ONE += [("rmsprop", "alpha")]


def build(name, **kw):
    return optimizers[name].build(kw)


@pytest.mark.parametrize(("name", "key"), sorted(LOWER_INCLUSIVE))
def test_zero_is_accepted_and_below_zero_refused(name, key):
    build(name, **{key: 0.0})
    with pytest.raises(
        SpecError, match=rf"^{name} {key}=-1e-12 is out of range: it must lie in \[0, "
    ):
        build(name, **{key: -TINY})


@pytest.mark.parametrize(("name", "key"), LR)
def test_lr_must_be_positive(name, key):
    build(name, lr=TINY)
    with pytest.raises(
        SpecError, match=rf"^{name} lr=0.0 is out of range: it must lie in \(0, inf\)$"
    ):
        build(name, lr=0.0)


@pytest.mark.parametrize(("name", "key"), BELOW_ONE)
def test_averaging_factors_must_stay_below_one(name, key):
    build(name, **{key: 1 - TINY})
    with pytest.raises(
        SpecError, match=rf"^{name} {key}=1.0 is out of range: it must lie in \[0, 1\)$"
    ):
        build(name, **{key: 1.0})


def test_sgd_nesterov_needs_momentum_and_no_dampening():
    build("sgd", nesterov=True, momentum=TINY)
    for kw in ({"momentum": 0.0}, {"momentum": 0.9, "dampening": TINY}):
        with pytest.raises(SpecError, match="nesterov=true needs momentum > 0 and dampening = 0"):
            build("sgd", nesterov=True, **kw)


def test_rmsprop_without_eps_divides_by_the_root_alone():
    """eps=0 is valid (torch too): s = (1 - alpha) g^2 on the first step, so the step is
    lr sign(g) / sqrt(1 - alpha) exactly."""
    opt = build("rmsprop", lr=0.1, alpha=0.96, eps=0.0)
    p = {"w": np.zeros(2)}
    new, _ = opt.update({"w": np.array([2.0, -3.0])}, opt.init(p), p)
    np.testing.assert_allclose(new["w"], [-0.5, 0.5], rtol=1e-15)


def test_adam_without_eps_divides_by_the_root_alone():
    opt = build("adam", lr=0.1, eps=0.0)
    p = {"w": np.zeros(2)}
    new, _ = opt.update({"w": np.array([2.0, -3.0])}, opt.init(p), p)
    np.testing.assert_allclose(new["w"], [-0.1, 0.1], rtol=1e-15)


def test_uniform_refuses_an_empty_interval_and_names_constant():
    """torch's uniform_(a, a) fills with a; scratch refuses it as trunc_normal does and points
    to ``constant``, the variant that says what such a spec means."""
    w = initializers["uniform"].build({"a": 1.0, "b": 1.0 + TINY})(
        np.random.default_rng(0), (3,), 3, 1
    )
    assert np.all((w >= 1.0) & (w <= 1.0 + TINY))
    for a in (1.0, 2.0):
        with pytest.raises(SpecError, match=rf"^uniform needs a < b, got a={a}, b=1.0; .*constant"):
            initializers["uniform"].build({"a": a, "b": 1.0})


def test_register_records_name_factory_doc_and_tags():
    reg = Registry("widget")

    @reg.register("fast", "exact")
    def lambda_(k: float = 2.0) -> float:
        """Doubles k."""
        return 2 * k

    @reg.register()
    def _plain() -> int:
        return 1

    v = reg["lambda"]  # a trailing underscore (a Python keyword's escape) is not part of the name
    assert (v.name, v.make, v.doc, v.tags) == ("lambda", lambda_, "Doubles k.", {"fast", "exact"})
    assert v.build({"k": 3.0}) == 6.0 and v.defaults == {"k": 2.0}
    assert (reg["_plain"].name, reg["_plain"].doc) == ("_plain", "")  # a leading one is
    assert reg.names("fast") == ["lambda"] and reg.names() == ["lambda", "_plain"]
    with pytest.raises(
        SpecError,
        match=r"^unknown widget 'lambd'; did you mean 'lambda'\? Known widgets: lambda, _plain "
        r"\(a widget outside these has no PyTorch twin here",
    ):
        reg["lambd"]


@pytest.mark.parametrize("layer", ["dense(3)", "batchnorm", "layernorm", "dropout(0.1)"])
def test_layers_holding_arrays_are_numbered(layer):
    assert Spec.parse(f"3 dense(4) tanh {layer} dense(2) loss=mse").n_layers == 3
    assert Spec.parse("3 dense(4) tanh relu dense(2) loss=mse").n_layers == 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: optimizers["sgd"].build({"lrr": 1}),
            "'sgd' has no hyperparameter 'lrr'; known: lr, momentum, dampening, weight_decay, "
            "nesterov, lr_decay, lr_gamma, lr_step_size, lr_outside",
        ),
        (
            lambda: optimizers.normalize("sgd", {"lrr": 1}),
            "optimizer 'sgd' has no hyperparameter 'lrr'; did you mean 'lr'? Its hyperparameters: "
            "lr, momentum, dampening, weight_decay, nesterov, lr_decay, lr_gamma, lr_step_size, "
            "lr_outside",
        ),
        (
            lambda: initializers.normalize("zeros", {"value": 1}),
            "initializer 'zeros' has no hyperparameter 'value'. Its hyperparameters: none",
        ),
    ],
)
def test_unknown_hyperparameter_messages_whole(call, message):
    with pytest.raises(SpecError) as err:
        call()
    assert str(err.value) == message


def test_canonical_names_leave_other_objects_and_other_kinds_alone():
    with pytest.raises(SpecError, match="unknown activation 5"):
        activations[5]
    # only a loss's name may end in "loss": ReLULoss is no activation
    assert "ReLULoss" not in activations and "MSELoss" in losses
