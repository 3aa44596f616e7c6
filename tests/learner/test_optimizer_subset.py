"""A departure of some parameters only (weight decay left off the biases, a common parameter
group) is named for those parameters, the others following the declared optimizer. Tested
both ways: every parameter decayed matches, with gradients shown or not. Optimizer state
shared by the parameters of one shape is named; keyed by parameter it matches."""

import numpy as np
import pytest
from tanh_net import grads_of

from nnparity import check
from nnparity.reference.learner import from_gradients, from_step


def _adapter(style: str, decay_biases: bool, after: bool = False):
    r = np.random.RandomState(0)
    P = [r.randn(3, 5) * 0.5, r.randn(5) * 0.1, r.randn(5, 2) * 0.5, r.randn(2) * 0.1]
    M, V = [np.zeros_like(p) for p in P], [np.zeros_like(p) for p in P]
    t = [0]
    lr, wd = 0.05, 0.1

    grads = grads_of(P)

    def step(X, Y):  # AdamW
        t[0] += 1
        for p, m, v, g in zip(P, M, V, grads(X, Y), strict=True):
            if (p.ndim == 2 or decay_biases) and not after:
                p *= 1 - lr * wd
            m[...] = 0.9 * m + 0.1 * g
            v[...] = 0.999 * v + 0.001 * g * g
            p -= lr * (m / (1 - 0.9 ** t[0])) / (np.sqrt(v / (1 - 0.999 ** t[0])) + 1e-8)
            if after:  # the decay on the updated weights (review s12)
                p *= 1 - lr * wd

    names = [f"[{i}]" for i in range(4)]
    kw = dict(sizes=[3, 5, 2], activations="tanh,identity", loss="mse",
              optimizer=f"adamw(weight_decay={wd})", lr=lr, layout="in_out")  # fmt: skip
    if style == "step":
        return from_step(P, names, step, **kw)
    return from_gradients(P, names, grads, step=step, **kw)


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("decay_biases", [True, False])
def test_biases_left_undecayed_are_named_for_the_biases(style, decay_biases):
    r = np.random.RandomState(1)
    X, Y = r.randn(12, 3), r.randn(12, 2)
    res = check(_adapter(style, decay_biases), X, Y, steps=3, probe=False)
    if decay_biases:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "optimizer_update_mismatch" and f.params == ("[1]", "[3]"), res.render()
    assert "weight decay left out" in f.evidence and "the others the declared adamw" in f.evidence
    assert "parameter-group" in f.hint


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_adamw_decay_after_the_step_is_named(style):
    """Every step is then 1 - lr wd times PyTorch's: it was read as "lr = 0.04975 where 0.05
    is declared", a learning rate nobody typed."""
    r = np.random.RandomState(1)
    X, Y = r.randn(12, 3), r.randn(12, 2)
    res = check(_adapter(style, True, after=True), X, Y, steps=3, probe=False)
    assert res.codes() == ["optimizer_update_mismatch"], res.render()
    assert "weight decay applied to the weights after the step" in res.findings[0].evidence
    assert "decay the weights before the step" in res.findings[0].hint


@pytest.mark.parametrize("opt", ["sgd(momentum=0.9)", "adam"])
@pytest.mark.parametrize("key", ["name", "shape"])
def test_optimizer_state_shared_by_shape_is_named(opt, key):
    r = np.random.RandomState(0)
    P = [r.randn(3, 4) * 0.5, r.randn(4) * 0.1, r.randn(4, 4) * 0.5, r.randn(4) * 0.1]
    P += [r.randn(4, 4) * 0.5, r.randn(4) * 0.1]
    state: dict = {}
    t = [0]

    def grads(X, Y):
        h1 = np.tanh(X @ P[0] + P[1])
        h2 = np.tanh(h1 @ P[2] + P[3])
        do = 2 * (h2 @ P[4] + P[5] - Y) / Y.size
        d2 = do @ P[4].T * (1 - h2**2)
        d1 = d2 @ P[2].T * (1 - h1**2)
        return [X.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ do, do.sum(0)]

    def step(X, Y):
        t[0] += 1
        for i, (p, g) in enumerate(zip(P, grads(X, Y), strict=True)):
            k = p.shape if key == "shape" else i  # the bug: one state per shape
            if opt == "adam":
                m, v = state.get(k, (np.zeros_like(p), np.zeros_like(p)))
                m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
                state[k] = (m, v)
                p -= 0.01 * (m / (1 - 0.9 ** t[0])) / (np.sqrt(v / (1 - 0.999 ** t[0])) + 1e-8)
            else:
                b = 0.9 * state[k] + g if k in state else g.copy()
                state[k] = b
                p -= 0.05 * b

    a = from_gradients(
        P, [f"[{i}]" for i in range(6)], grads, step=step, sizes=[3, 4, 4, 4],
        activations="tanh,tanh,identity", loss="mse", optimizer=opt,
        lr=0.01 if opt == "adam" else 0.05, layout="in_out",
    )  # fmt: skip
    X, Y = r.randn(10, 3), r.randn(10, 4)
    res = check(a, X, Y, steps=3, probe=False)
    if key == "name":
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "optimizer_update_mismatch", res.render()
    assert "shared by the parameters of the same shape" in f.evidence
    assert "key it by the parameter's name" in f.hint


def test_biases_without_momentum_are_told_to_keep_a_velocity():
    r = np.random.RandomState(0)
    P = [r.randn(3, 5) * 0.5, r.randn(5) * 0.1, r.randn(5, 2) * 0.5, r.randn(2) * 0.1]
    V = [np.zeros_like(p) for p in P]

    grads = grads_of(P)

    def step(X, Y):
        for i, (p, g) in enumerate(zip(P, grads(X, Y), strict=True)):
            if p.ndim == 2:  # the bug: momentum on the weights only
                V[i] = 0.9 * V[i] + g if V[i].any() else g.copy()
                g = V[i]
            p -= 0.05 * g

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, step=step, sizes=[3, 5, 2],
        activations="tanh,identity", loss="mse", optimizer="sgd(momentum=0.9)", lr=0.05,
        layout="in_out",
    )  # fmt: skip
    X, Y = r.randn(12, 3), r.randn(12, 2)
    res = check(a, X, Y, steps=3, probe=False)
    f = res.findings[0]
    assert f.code == "optimizer_update_mismatch" and f.params == ("[1]", "[3]"), res.render()
    assert "a velocity kept from step to step" in f.hint
