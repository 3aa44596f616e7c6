"""Ng's momentum, v = b v + (1 - b) g from v = 0 and w -= lr v, is PyTorch's SGD with
lr (1 - b), momentum b and no dampening (PyTorch starts its buffer at g itself): declared as
dampening = b it is named with that declaration, whether the step shows its gradients or not;
declared so, it matches."""

import numpy as np
import pytest
from tanh_net import grads_of

from nnparity import check
from nnparity.reference.learner import from_gradients, from_step


def _adapter(style: str, opt: str, lr: float):
    r = np.random.RandomState(0)
    P = [r.randn(3, 5) * 0.5, np.zeros(5), r.randn(5, 1) * 0.5, np.zeros(1)]
    V = [np.zeros_like(p) for p in P]

    grads = grads_of(P)

    def step(X, Y):
        for p, v, g in zip(P, V, grads(X, Y), strict=True):
            v *= 0.9
            v += 0.1 * g
            p -= 1.0 * v

    names = [f"[{i}]" for i in range(4)]
    kw = dict(sizes=[3, 5, 1], activations="tanh,identity", loss="mse", optimizer=opt, lr=lr,
              layout="in_out")  # fmt: skip
    if style == "step":
        return from_step(P, names, step, **kw)
    return from_gradients(P, names, grads, step=step, **kw)


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_declared_as_dampening_it_is_named_with_the_declaration_that_matches(style):
    r = np.random.RandomState(1)
    X, Y = r.randn(12, 3), r.randn(12, 1)
    res = check(_adapter(style, "sgd(momentum=0.9,dampening=0.9)", 1.0), X, Y, steps=4,
                probe=False)  # fmt: skip
    f = res.findings[0]
    assert f.code == "optimizer_update_mismatch", res.render()
    assert "lr=0.1" in f.hint and "momentum=0.9" in f.hint, res.render()
    again = check(_adapter(style, "sgd(momentum=0.9)", 0.1), X, Y, steps=4, probe=False)
    assert again.code == "match", again.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("inside", [True, False])
def test_weight_decay_outside_the_momentum_is_named_sgdw(style, inside):
    """w *= 1 - lr wd beside the velocity (SGDW) where torch's SGD adds wd w to g inside it."""
    r = np.random.RandomState(0)
    P = [r.randn(3, 5) * 0.5, np.zeros(5), r.randn(5, 1) * 0.5, np.zeros(1)]
    B = [np.zeros_like(p) for p in P]
    grads, lr, mu, wd = grads_of(P), 0.1, 0.9, 0.05

    def step(X, Y):
        for p, b, g in zip(P, B, grads(X, Y), strict=True):
            b *= mu
            b += g + wd * p if inside else g
            if not inside:
                p *= 1 - lr * wd
            p -= lr * b

    names = [f"[{i}]" for i in range(4)]
    kw = dict(sizes=[3, 5, 1], activations="tanh,identity", loss="mse", layout="in_out",
              optimizer=f"sgd(momentum={mu},weight_decay={wd})", lr=lr)  # fmt: skip
    a = from_step(P, names, step, **kw) if style == "step" else from_gradients(
        P, names, grads, step=step, **kw)  # fmt: skip
    X, Y = r.randn(12, 3), r.randn(12, 1)
    res = check(a, X, Y, steps=4, probe=False)
    if inside:
        assert res.code == "match", res.render()
        return
    assert res.codes() == ["optimizer_update_mismatch"], res.render()
    assert "outside the momentum (w *= 1 - lr wd; SGDW)" in res.findings[0].evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_declared_as_plain_momentum_c_is_1_minus_momentum_and_named(style):
    """Review s10a: declared sgd(momentum=0.9) at the learner's lr 1.0, the steps are 0.1
    times PyTorch's: was 'use the declared learning rate' (the learner does)."""
    r = np.random.RandomState(1)
    X, Y = r.randn(12, 3), r.randn(12, 1)
    res = check(_adapter(style, "sgd(momentum=0.9)", 1.0), X, Y, steps=4, probe=False)
    f = res.findings[0]
    assert "averages the gradients" in f.hint and "declare lr=0.1" in f.hint, res.render()
