"""A forward pass that returns the logits (d2l's ``net``, makemore, PyTorch's own habit) beside
a backward bug: the bug is named on the gradients it changes, not "the forward output parts"
(review s25f F1). The logits are taken as the forward's form where the loss agrees with
PyTorch's, or where the last layer's gradients agree up to one positive factor; a backward
that leaves the softmax out (dz = z - y) is named too, as is a forward of logits whose last
layer trains without the softmax."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss, from_step

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 4))
Y = RNG.integers(0, 3, 16)


def _params():
    r = np.random.default_rng(1)
    return {"W1": r.normal(size=(4, 6)) * 0.5, "b1": np.zeros(6),
            "W2": r.normal(size=(6, 3)) * 0.5, "b2": np.zeros(3)}  # fmt: skip


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _net(P, bug):
    def forward(X):
        h = np.tanh(X @ P["W1"] + P["b1"])
        return h, h @ P["W2"] + P["b2"]

    def loss_grads(X, y):
        h, z = forward(X)
        n = len(X)
        loss = -np.log(_softmax(z)[np.arange(n), y]).mean()
        dz = ((z if bug == "no_softmax" else _softmax(z)) - np.eye(3)[y]) / n
        dz = dz * n if bug == "no_div_n" else dz
        dh = dz @ P["W2"].T * (h if bug == "deriv" else 1 - h**2)
        return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}

    return forward, loss_grads


KW = dict(sizes=[4, 6, 3], activations="tanh,softmax", loss="cross_entropy", lr=0.1)
NAMED = {  # bug: (the finding, its parameters)
    None: (None, ()),
    "deriv": ("wrong_activation_derivative", ("W1", "b1")),
    "no_div_n": ("scale_factor", ("W1", "b1", "W2", "b2")),
    "no_softmax": ("derivative_of_output", ("W2", "b2")),
}


@pytest.mark.parametrize("bug", list(NAMED))
def test_logits_forward_with_a_loss_shown(bug):
    P = _params()
    forward, loss_grads = _net(P, bug)
    a = from_loss(P, loss_grads, forward=lambda X: forward(X)[1], **KW)
    res = check(a, X, Y, steps=3, probe=False)
    code, params = NAMED[bug]
    notes = [f for f in res.findings if f.kind == "note"]
    assert [f.code for f in notes] == ["logits_output"], res.render()
    bugs = [f for f in res.findings if f.kind != "note"]
    if code is None:
        assert res.code == "match" and not bugs, res.render()
    else:
        assert [(f.code, set(f.params)) for f in bugs] == [(code, set(params))], res.render()


@pytest.mark.parametrize("bug", ["deriv", "no_div_n"])
def test_logits_forward_with_only_a_step_shown(bug):
    P = _params()
    forward, loss_grads = _net(P, bug)

    def step(X, y):
        _, g = loss_grads(X, y)
        for k in P:
            P[k] -= 0.1 * g[k]

    a = from_step(P, list(P), step, forward=lambda X: forward(X)[1], **KW)
    res = check(a, X, Y, steps=3, probe=False)
    code, params = NAMED[bug]
    bugs = [f for f in res.findings if f.kind != "note"]
    assert [(f.code, set(f.params)) for f in bugs] == [(code, set(params))], res.render()


def test_scale_evidence_names_your_parameters():
    Q = _params()
    P = {"Wh": Q["W1"], "bh": Q["b1"], "Wo": Q["W2"], "bo": Q["b2"]}
    forward, loss_grads = _net(Q, "no_div_n")

    def lg(X, y):
        loss, g = loss_grads(X, y)
        return loss, {"Wh": g["W1"], "bh": g["b1"], "Wo": g["W2"], "bo": g["b2"]}

    a = from_loss(P, lg, names=list(P), forward=lambda X: forward(X)[1], **KW)
    res = check(a, X, Y, steps=2, probe=False)
    (f,) = [f for f in res.findings if f.code == "scale_factor"]
    assert "on Wh, bh, Wo, bo" in f.evidence or "on Wo, bo, Wh, bh" in f.evidence, f.evidence
