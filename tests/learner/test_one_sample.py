"""A gradient that is the last sample's alone (a per-sample loop assigning where it adds) is
named ``one_sample_gradient`` (review s19a: it was unexplained). Tested both ways."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


@pytest.mark.parametrize("assign", [False, True])
def test_a_bias_gradient_kept_from_the_last_sample_is_named(assign):
    r = np.random.default_rng(3)
    P = {"W1": r.normal(0, 0.7, (3, 5)), "b1": np.zeros(5), "W2": r.normal(0, 0.7, (5, 2)),
         "b2": np.zeros(2)}  # fmt: skip
    X, Y = r.normal(size=(8, 3)), r.normal(size=(8, 2))

    def grads(X, Y):
        g = {k: np.zeros_like(v) for k, v in P.items()}
        for x, y in zip(X, Y, strict=True):  # one sample at a time, Nielsen's way
            h = np.tanh(x @ P["W1"] + P["b1"])
            d2 = h @ P["W2"] + P["b2"] - y
            d1 = d2 @ P["W2"].T * (1 - h**2)
            g["W1"] += np.outer(x, d1)
            g["W2"] += np.outer(h, d2)
            if assign:  # the slip: the bias lines assign
                g["b1"], g["b2"] = d1.copy(), d2.copy()
            else:
                g["b1"] += d1
                g["b2"] += d2
        return {k: v / len(X) for k, v in g.items()}

    a = from_gradients(P, list(P), grads, sizes=[3, 5, 2], activations="tanh,identity",
                       loss="half_sse", optimizer="sgd", lr=0.1)  # fmt: skip
    res = check(a, X, Y, steps=2, probe=False)
    if not assign:
        assert res.code == "match", res.render()
        return
    assert res.codes() == ["one_sample_gradient"] * 2, res.render()
    assert "the batch's last row alone times 0.125 (1/N)" in res.findings[0].evidence


def test_one_number_is_no_evidence():
    """CI found it: a 1-unit output's bias gradient is a multiple of any row's, so it was
    named one_sample_gradient on a stale-cache bug (test_forward_order_note)."""
    from nnparity.reference.learner.one_sample import _factor

    assert _factor(np.array([0.3]), np.array([-2.0]), 1e-6) is None
    assert _factor(np.array([0.3, 0.6]), np.array([1.0, 2.0]), 1e-6) == pytest.approx(0.3)


def test_one_number_is_read_at_the_factor_the_others_share():
    """Nielsen's `=` for `+=` on every line of a 1-output net: b2, one number, takes the same
    c = 1/N as W2, W1, b1 (review s24c F4: it stayed unexplained); alone, it is still none."""
    from nnparity.reference.learner.one_sample import _factor

    r = np.random.default_rng(5)
    P = {"W1": r.normal(0, 0.7, (2, 4)), "b1": np.zeros(4), "W2": r.normal(0, 0.7, (4, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    X, Y = r.normal(size=(4, 2)), r.normal(size=(4, 1))

    def grads(X, Y):
        g = {}
        for x, y in zip(X, Y, strict=True):
            h = np.tanh(x @ P["W1"] + P["b1"])
            d2 = h @ P["W2"] + P["b2"] - y
            d1 = d2 @ P["W2"].T * (1 - h**2)
            g = {"W1": np.outer(x, d1), "b1": d1, "W2": np.outer(h, d2), "b2": d2}  # `=`
        return {k: v / len(X) for k, v in g.items()}

    a = from_gradients(P, list(P), grads, sizes=[2, 4, 1], activations="tanh,identity",
                       loss="half_sse", optimizer="sgd", lr=0.1)  # fmt: skip
    res = check(a, X, Y, steps=2, probe=False)
    assert res.codes() == ["one_sample_gradient"] * 4, res.render()
    assert _factor(np.array([0.3]), np.array([1.2]), 1e-9, known=0.25) == 0.25
    assert _factor(np.array([0.3]), np.array([1.0]), 1e-9, known=0.25) is None
