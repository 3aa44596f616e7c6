"""A step or exponential learning-rate schedule, ``lr_gamma`` every ``lr_step_size`` steps (lr
gamma^(n // step_size) before step n + 1: PyTorch's StepLR and ExponentialLR stepped after each
step), alone and under ``lr_decay``: scratch, the PyTorch twin and the JAX twin take the same
steps, the twin resumes the count from scratch's state, and a schedule one step early fails."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from test_lr_decay import _spec, _w1_after  # the same spec and W1 reader as lr_decay's

from nnparity.reference.engine import run_parity
from nnparity.reference.twin import Twin
from nnparity.scratch import Spec, SpecError, build, make_data

OPTS = [
    "sgd(lr=0.1,lr_gamma=0.5,lr_step_size=2)",
    "sgd(lr=0.1,momentum=0.9,weight_decay=0.01,lr_gamma=0.7,lr_step_size=2)",
    "sgd(lr=0.1,momentum=0.9,lr_gamma=0.7,lr_step_size=3,lr_outside=true)",
    "sgd(lr=0.1,momentum=0.9,lr_decay=0.5,lr_gamma=0.8)",
    "adam(lr=0.01,lr_gamma=0.9)",
    "adamw(lr=0.01,weight_decay=0.5,lr_gamma=0.6,lr_step_size=2)",
    "rmsprop(lr=0.01,momentum=0.5,lr_gamma=0.6,lr_step_size=2)",
    "rmsprop(lr=0.01,momentum=0.5,lr_gamma=0.6,lr_step_size=2,lr_outside=true)",
    "adagrad(lr=0.1,lr_decay=0.3,lr_gamma=0.5,lr_step_size=2)",
]


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("against", ["torch", "jax"])
def test_every_side_schedules_alike(opt, against):
    if against == "jax":
        pytest.importorskip("jax", reason="the JAX twin needs jax (pip install nnparity[jax])")
    result = run_parity(_spec(opt), 7, against=against)
    assert result.passed, result.message()


@pytest.mark.parametrize("opt", OPTS)
def test_the_schedule_changes_the_steps(opt):
    """Not a schedule that nothing reads: the seventh step's weights differ without lr_gamma."""
    plain = ",".join(p for p in opt.split(",") if not p.startswith("lr_gamma"))
    plain = plain if plain.endswith(")") else plain + ")"
    assert not np.allclose(_w1_after(opt, 7), _w1_after(plain, 7), rtol=1e-6, atol=0)


def test_the_twin_resumes_the_count_from_scratchs_state():
    """Three scratch steps, then the twin's fourth: lr 0.1 * 0.5^(3 // 2), momentum as held."""
    spec = Spec.parse(_spec("sgd(lr=0.1,momentum=0.9,lr_gamma=0.5,lr_step_size=2)"))
    net = build(spec)
    p = net.init_params()
    st = net.init_state(p)
    X, y = make_data(spec)
    for _ in range(3):
        p, st, _ = net.train_step(p, st, X, y)
    twin = Twin(spec)
    twin.set_params(p)
    twin.set_state(st)
    twin.step(*twin.tensors(X, y))
    p4, _, _ = net.train_step(p, st, X, y)
    assert twin.optimizer.param_groups[0]["lr"] == 0.1 * 0.5
    for k, v in twin.get_params().items():
        np.testing.assert_allclose(v, p4[k], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "opt", ["sgd(lr=0.1,lr_gamma=0.5,lr_step_size=2)", "adam(lr=0.01,lr_gamma=0.9)"]
)
def test_a_schedule_one_step_early_fails(monkeypatch, opt):
    """Planted: scratch counts the steps from 1 (the first fall a step early)."""
    module = importlib.import_module("nnparity.scratch.optimizers")
    real = module._lr_at
    monkeypatch.setattr(module, "_lr_at", lambda lr, s, done: real(lr, s, done + 1))
    build.cache_clear()
    try:
        result = run_parity(_spec(opt), 4)
    finally:
        build.cache_clear()
    assert not result.passed
    assert result.first_failure.step in (1, 2)


@pytest.mark.parametrize(
    ("opt", "said"),
    [
        ("sgd(lr=0.1,lr_gamma=0)", "lr_gamma=0"),
        ("adam(lr=0.1,lr_gamma=-0.5)", "lr_gamma=-0.5"),
        ("sgd(lr=0.1,lr_gamma=0.5,lr_step_size=0)", "lr_step_size=0"),
        ("rmsprop(lr=0.1,lr_gamma=0.5,lr_step_size=1.5)", "lr_step_size=1.5"),
        ("sgd(lr=0.1,momentum=0.9,nesterov=true,lr_gamma=0.5)", "nesterov"),
    ],
)
def test_a_schedule_that_cannot_be_is_refused(opt, said):
    with pytest.raises(SpecError, match=said):
        build(Spec.parse(_spec(opt)))


def test_the_two_momentum_forms_part_under_a_schedule():
    """lr_outside=true (PyTorch's buffer) and the default (the velocity holds the lr, Keras's)
    take other steps once the lr falls."""
    base = "sgd(lr=0.1,momentum=0.9,lr_gamma=0.5,lr_step_size=2,lr_outside={})"
    assert not np.allclose(_w1_after(base.format("true"), 7), _w1_after(base.format("false"), 7),
                           rtol=1e-6, atol=0)  # fmt: skip
