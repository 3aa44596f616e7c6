"""No claim without evidence: cases where a bug class used to be named on evidence that does
not support it (an all-zero gradient, a coincidental factor, shapes alone). Each asserts the
wrong code is not emitted and what is said instead."""

from __future__ import annotations

import numpy as np
import torch

from reference.learner import check, from_loss
from reference.learner.hypotheses import fit


class SoftmaxNet:
    """A two-layer relu -> softmax classifier with a cross-entropy loss (params dict)."""

    def __init__(self, d=4, h=10, c=3, std=0.5, seed=0, edit=None):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": std * rng.standard_normal((d, h)),
            "b1": np.zeros(h),
            "W2": std * rng.standard_normal((h, c)),
            "b2": np.array([0.1, -0.2, 0.05])[:c] if c == 3 else np.zeros(c),
        }
        self.edit = edit or (lambda g, cache: g)

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h = np.maximum(0, X @ W1 + b1)
        s = h @ W2 + b2
        if y is None:
            return s
        n = X.shape[0]
        e = np.exp(s - s.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean()
        ds = p.copy()
        ds[np.arange(n), y] -= 1
        ds /= n
        dh = ds @ W2.T
        dh[h <= 0] = 0
        g = {"W2": h.T @ ds, "b2": ds.sum(0), "W1": X.T @ dh, "b1": dh.sum(0)}
        return loss, self.edit(g, {"X": X, "h": h, "ds": ds, "dh": dh})


def softmax_data(n=25, seed=11):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n)


def softmax_adapter(net, **kw):
    declared = dict(
        sizes=[4, 10, 3],
        activations="relu,identity",
        loss="cross_entropy",
        optimizer="sgd",
        lr=0.5,
    )
    return from_loss(net.params, net.loss, forward=net.loss, **{**declared, **kw})


def _check(edit, **kw):
    X, y = softmax_data()
    r = check(softmax_adapter(SoftmaxNet(edit=edit)), X, y, steps=3, probe=False, **kw)
    return r


def _zero(name):
    def edit(g, cache):
        g[name] = np.zeros_like(g[name])
        return g

    return edit


def test_an_all_zero_bias_gradient_is_not_a_bias_reduction():
    # softmax + cross-entropy: dz summed over batch and classes is 0, so the "one scalar"
    # form predicts zeros; a forgotten db2 must not be explained by it
    r = _check(_zero("b2"))
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["unexplained_mismatch"], r.render()
    assert "all zeros" in r.findings[0].evidence and r.findings[0].params == ("b2",)


def test_an_all_zero_weight_gradient_is_not_a_scale_factor_of_zero():
    r = _check(_zero("W1"))
    assert "scale_factor" not in r.codes() and "sign_flip" not in r.codes()
    assert r.codes() == ["unexplained_mismatch"], r.render()
    assert "all zeros" in r.findings[0].evidence


def test_fit_takes_neither_c_zero_nor_a_zero_prediction_as_evidence():
    g = torch.tensor([1.0, -2.0, 3.0, 0.5])
    names = [(1.0, "1"), (0.1, "1/N")]
    assert not fit([(torch.zeros(4), g, 1e-9, 1e-9)], names).ok  # c = 0
    tiny = torch.full((4,), 1e-18)
    assert not fit([(torch.zeros(4), tiny, 1e-9, 1e-9)], names).ok  # PyTorch's is not zero
    assert fit([(torch.zeros(4), tiny, 1e-9, 1e-9)], names, ref_zero=True).ok
