"""Every variant is registered on both sides, under one name, with the same defaults."""

from __future__ import annotations

import pytest

from nnparity.reference.variants import (
    torch_activations,
    torch_initializers,
    torch_losses,
    torch_optimizers,
)
from nnparity.scratch import REGISTRIES

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


# scratch's hyperparameter -> the argument of PyTorch's own class or function that it mirrors;
# None: an option PyTorch's class lacks (lr_decay, lr_gamma, lr_step_size: a scheduler stepped
# beside it), off by default: its value that changes nothing (OFF, else 0)
DECAY = {"lr_decay": None, "lr_gamma": None, "lr_step_size": None}
OFF = {"lr_gamma": 1.0, "lr_step_size": 1}
SGD = {**DECAY, "lr_outside": None}  # where the lr sits under lr_decay: no option of SGD
TORCH_SIGNATURES = {
    ("optimizer", "sgd"): ("torch.optim.SGD", SGD),
    ("optimizer", "adam"): (
        "torch.optim.Adam",
        {"beta1": ("betas", 0), "beta2": ("betas", 1), **DECAY},
    ),
    ("optimizer", "adamw"): (
        "torch.optim.AdamW",
        {"beta1": ("betas", 0), "beta2": ("betas", 1), **DECAY},
    ),
    ("optimizer", "rmsprop"): ("torch.optim.RMSprop", {**DECAY, "lr_outside": None}),
    ("optimizer", "adagrad"): ("torch.optim.Adagrad", {"lr_gamma": None, "lr_step_size": None}),
    ("activation", "leaky_relu"): ("torch.nn.LeakyReLU", {"slope": "negative_slope"}),
    ("activation", "elu"): ("torch.nn.ELU", {}),
    ("activation", "gelu"): ("torch.nn.GELU", {}),
    ("activation", "softplus"): ("torch.nn.Softplus", {}),
    ("activation", "hardtanh"): ("torch.nn.Hardtanh", {}),
    ("loss", "mse"): ("torch.nn.MSELoss", {}),
    ("loss", "huber"): ("torch.nn.HuberLoss", {}),
    ("loss", "l1"): ("torch.nn.L1Loss", {}),
    ("loss", "bce"): ("torch.nn.BCELoss", {}),
    ("loss", "bce_with_logits"): ("torch.nn.BCEWithLogitsLoss", {}),
    ("loss", "cross_entropy"): ("torch.nn.CrossEntropyLoss", {}),
    ("loss", "nll"): ("torch.nn.NLLLoss", {}),
    ("loss", "multi_margin"): ("torch.nn.MultiMarginLoss", {}),
}


@pytest.mark.parametrize("key", sorted(TORCH_SIGNATURES), ids="-".join)
def test_defaults_are_pytorchs_own(key):
    """Read the defaults from PyTorch's signatures, not from our own twin: a default that
    drifts in a new PyTorch release fails here."""
    import importlib
    import inspect

    path, renamed = TORCH_SIGNATURES[key]
    module, _, cls = path.rpartition(".")
    params = inspect.signature(getattr(importlib.import_module(module), cls)).parameters
    for name, default in REGISTRIES[key[0]][key[1]].defaults.items():
        where = renamed.get(name, name)
        if where is None:
            assert name not in params and default == OFF.get(name, 0), (key, name, default)
            continue
        theirs = (
            params[where[0]].default[where[1]]
            if isinstance(where, tuple)
            else params[where].default
        )
        assert default == theirs, (key, name, default, theirs)


def test_every_variant_with_hyperparameters_is_held_to_a_pytorch_signature():
    """(half_sse, sse and the binary hinge have no torch class: theirs are written of ops)"""
    mirrored = {k for k in TORCH_SIGNATURES}
    for kind in ("optimizer", "activation", "loss"):
        for name in REGISTRIES[kind]:
            if REGISTRIES[kind][name].defaults and name not in ("half_sse", "sse", "hinge"):
                assert (kind, name) in mirrored, (kind, name)


@pytest.mark.parametrize("name", REGISTRIES["activation"].names("elementwise"))
def test_activation_values_and_gradients_at_nan_and_inf_follow_pytorch(name):
    """Where a run has gone non-finite, scratch and the twin must still agree on what flows
    through each activation, or a diverging run would be reported as a code bug."""
    import numpy as np
    import torch

    z = np.array([[np.nan, np.inf, -np.inf, 0.0, 1.0, -1.0]])
    g = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    act = REGISTRIES["activation"][name].build({})
    with np.errstate(all="ignore"):
        a = act.f(z)
        dz = act.vjp(z, a, g)
    zt = torch.from_numpy(z).requires_grad_(True)
    at = torch_activations[name].build({})(zt)
    at.backward(torch.from_numpy(g))
    # NaN where PyTorch has NaN, the same infinities, finite values to a few ulp
    np.testing.assert_allclose(a, at.detach().numpy(), rtol=1e-14, atol=0, err_msg=f"{name} value")
    np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=1e-14, atol=0, err_msg=f"{name} grad")


def test_the_margin_losses_are_pytorchs():
    """The twin's multi_margin (written of ops, so that it has a second derivative) is
    nn.MultiMarginLoss (x K for 'sum' and 'batch', whose per-sample loss it divides by K)."""
    import torch

    from nnparity.reference.variants import torch_losses

    g = torch.Generator().manual_seed(0)
    out, y = (
        torch.randn(7, 4, dtype=torch.float64, generator=g),
        torch.randint(0, 4, (7,), generator=g),
    )
    for reduction, times in (("mean", 1), ("sum", 4), ("batch", 4 / 7)):
        for margin in (1.0, 0.3):
            ours = torch_losses["multi_margin"].build({"reduction": reduction, "margin": margin})
            theirs = torch.nn.MultiMarginLoss(
                margin=margin, reduction="sum" if times != 1 else "mean"
            )
            a, b = out.clone().requires_grad_(), out.clone().requires_grad_()
            ours(a, y).backward()
            (theirs(b, y) * times).backward()
            torch.testing.assert_close(ours(out, y), theirs(out, y) * times, rtol=1e-14, atol=0)
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-14, atol=1e-16)
