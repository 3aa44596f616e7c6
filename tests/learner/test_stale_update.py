"""A step that updates before its backward pass (forward, update, backward) applies the
previous call's gradients: zeros at step 1 (review s30a F5: said as "updated other arrays than
the ones named"). Named ``update_before_backward``; the right order matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(late: bool, opt: str):
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 0.6, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.6, (6, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    G = {k: np.zeros_like(v) for k, v in P.items()}
    S = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in P.items()}
    t = [0]

    def backward(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        G.update({"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)})

    def update():
        t[0] += 1
        for k, p in P.items():
            if opt == "sgd":
                p -= 0.1 * G[k]
                continue
            m, v = S[k]
            m[...] = 0.9 * m + 0.1 * G[k]
            v[...] = 0.999 * v + 0.001 * G[k] ** 2
            p -= 0.01 * (m / (1 - 0.9 ** t[0])) / (np.sqrt(v / (1 - 0.999 ** t[0])) + 1e-8)

    def step(X, y):
        if late:
            update()
            backward(X, y)
        else:
            backward(X, y)
            update()

    lr = 0.1 if opt == "sgd" else 0.01
    return from_step(P, list(P), step, sizes=[3, 6, 1], activations="tanh,identity", loss="mse",
                     optimizer=opt, lr=lr)  # fmt: skip


def _data():
    r = np.random.default_rng(1)
    X = r.normal(size=(32, 3))
    return X, np.sin(X[:, :1])


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_an_update_before_the_backward_pass_is_named(opt):
    r = check(_adapter(True, opt), *_data(), steps=3, batch_size=8, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].code == "update_before_backward", r.render()
    assert "forward, then backward, then the update" in r.findings[0].hint


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_the_right_order_matches(opt):
    assert check(_adapter(False, opt), *_data(), steps=3, batch_size=8, probe=False).code == "match"


def test_weights_moved_by_the_velocity_before_it_takes_the_gradient_say_so():
    """Review s59b F3: Nielsen's network with momentum, w = w + v before v = mu v - eta g,
    was told to run forward, backward, update, which it already did; the fix says the order
    within the update too."""
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 0.6, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.6, (6, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    V = {k: np.zeros_like(v) for k, v in P.items()}

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        G = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        for k, p in P.items():
            p += V[k]  # moved by the old velocity first
            V[k] = 0.9 * V[k] - 0.1 * G[k]

    a = from_step(P, list(P), step, sizes=[3, 6, 1], activations="tanh,identity", loss="mse",
                  optimizer="sgd(momentum=0.9)", lr=0.1)  # fmt: skip
    res = check(a, *_data(), steps=3, batch_size=8, probe=False)
    f = res.findings[0]
    assert (res.code, f.code) == ("implementation_bug", "update_before_backward"), res.render()
    assert "before adding this call's gradient to that state" in f.evidence, res.render()
    assert "fold the gradient into the state first" in f.hint, res.render()
