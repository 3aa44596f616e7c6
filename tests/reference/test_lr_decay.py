"""An inverse-time learning-rate decay, ``lr_decay`` (lr / (1 + lr_decay n) before step n + 1,
as torch.optim.Adagrad's own): scratch, the PyTorch twin and the JAX twin take the same steps
with it, the twin resumes the count from scratch's state, and a decay off by one step fails."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from nnparity.reference.engine import run_parity
from nnparity.reference.twin import Twin
from nnparity.scratch import Spec, build, make_data

OPTS = [
    "sgd(lr=0.1,lr_decay=0.5)",
    "sgd(lr=0.1,momentum=0.9,weight_decay=0.01,lr_decay=0.5)",
    "sgd(lr=0.1,momentum=0.9,lr_decay=0.5,lr_outside=true)",
    "adam(lr=0.01,lr_decay=0.3)",
    "adamw(lr=0.01,weight_decay=0.5,lr_decay=0.3)",
    "rmsprop(lr=0.01,momentum=0.5,lr_decay=0.3)",
]


def _spec(opt: str) -> str:
    return f"4-8-3 tanh,identity loss=mse opt={opt} seed=3"


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("against", ["torch", "jax"])
def test_every_side_decays_alike(opt, against):
    if against == "jax":
        pytest.importorskip("jax", reason="the JAX twin needs jax (pip install nnparity[jax])")
    result = run_parity(_spec(opt), 5, against=against)
    assert result.passed, result.message()


@pytest.mark.parametrize("opt", OPTS)
def test_the_decay_changes_the_steps(opt):
    """Not a decay that nothing reads: the fifth step's weights differ without it."""
    plain = opt.replace(",lr_decay=0.5", "").replace(",lr_decay=0.3", "")
    assert not np.allclose(_w1_after(opt), _w1_after(plain), rtol=1e-6, atol=0)


def _w1_after(opt: str, steps: int = 5) -> np.ndarray:
    """Scratch's W1 after ``steps`` steps of ``opt`` on the spec's own data."""
    s = Spec.parse(_spec(opt))
    net = build(s)
    p = net.init_params()
    st = net.init_state(p)
    X, y = make_data(s)
    for _ in range(steps):
        p, st, _ = net.train_step(p, st, X, y)
    return p["W1"]


def test_the_twin_resumes_the_count_from_scratchs_state():
    spec = Spec.parse(_spec("sgd(lr=0.1,momentum=0.9,lr_decay=0.5)"))
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
    assert twin.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / (1 + 3 * 0.5), rel=1e-15)
    for k, v in twin.get_params().items():
        np.testing.assert_allclose(v, p4[k], rtol=1e-13, atol=1e-15)


def test_a_decay_one_step_ahead_fails(monkeypatch):
    """Planted: scratch decays the first step too (n + 1 in place of n)."""
    module = importlib.import_module(
        "nnparity.scratch.optimizers"
    )  # the package's name is its registry
    real = module._lr_at
    monkeypatch.setattr(module, "_lr_at", lambda lr, k, done: real(lr, k, done + 1))
    build.cache_clear()
    try:
        result = run_parity(_spec("adam(lr=0.01,lr_decay=0.3)"), 3)
    finally:
        build.cache_clear()
    assert not result.passed
    assert result.first_failure.step == 1


def test_a_negative_decay_is_refused():
    with pytest.raises(Exception, match="lr_decay"):
        build(Spec.parse(_spec("sgd(lr=0.1,lr_decay=-0.1)")))


def test_the_two_momentum_forms_part_under_a_decay_and_agree_without():
    """lr_outside=true (PyTorch's buffer, b = mu b + g) and the default (the velocity
    holds the lr, nnfs and Keras) take other steps under lr_decay, the same steps without."""

    base = "sgd(lr=0.1,momentum=0.9{})"
    decayed = [_w1_after(base.format(f",lr_decay=0.5,lr_outside={f}")) for f in ("true", "false")]
    assert not np.allclose(*decayed, rtol=1e-6, atol=0)
    plain = [_w1_after(base.format(f",lr_outside={f}")) for f in ("true", "false")]
    np.testing.assert_array_equal(*plain)
