"""A factor read off the data loss's part of the gradients (the declared L2 term taken off
both sides) says so: review s10a found 'c = -1.0000 on W3, ..., W1' beside a table whose c
(penalty included) read -0.79 for W1, as the flipped data gradient kept its penalty's sign."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients


def test_a_sign_flip_under_a_declared_l2_says_its_c_is_the_data_parts():
    r = np.random.default_rng(3)
    P = {"W1": r.normal(0, 1.0, (3, 5)), "b1": np.zeros(5), "W2": r.normal(0, 1.0, (5, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    X, y = r.normal(size=(16, 3)), r.normal(size=(16, 1))
    l2 = 0.5

    def grads(X, y):  # the data gradient's sign flipped, the penalty's kept
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = -2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        return [X.T @ dh + l2 * P["W1"], dh.sum(0), h.T @ d + l2 * P["W2"], d.sum(0)]

    a = from_gradients(P, list(P), grads, sizes=[3, 5, 1], activations="tanh,identity",
                       loss="mse", lr=0.01, l2=l2)  # fmt: skip
    res = check(a, X, y, steps=2, probe=False)
    f = res.findings[0]
    assert f.code == "sign_flip" and "c = -1.0000" in f.evidence, res.render()
    assert "the declared L2 term taken off both" in f.evidence
    w1 = next(p for p in res.table if p.canonical == "W1" and p.stage == "grad")
    assert w1.c is not None and w1.c > -0.99  # the table's c, penalty included, is not -1


def _half_l2_on(layers: tuple[str, ...]):
    r = np.random.default_rng(3)
    P = {"W1": r.normal(0, 1.0, (3, 5)), "b1": np.zeros(5), "W2": r.normal(0, 1.0, (5, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    l2 = 0.5

    def grads(X, y):  # half the declared coefficient on the weights in ``layers``
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        k = {n: l2 / 2 if n in layers else l2 for n in ("W1", "W2")}
        return [X.T @ dh + k["W1"] * P["W1"], dh.sum(0), h.T @ d + k["W2"] * P["W2"], d.sum(0)]

    return from_gradients(P, list(P), grads, sizes=[3, 5, 1], activations="tanh,identity",
                          loss="mse", lr=0.01, l2=l2)  # fmt: skip


def test_a_coefficient_off_on_some_weights_is_not_offered_as_a_declaration():
    """Review s11: 'or declare l2=0.05' where W2 took the declared 0.1 and W1 0.05: that
    declaration breaks W2. One number is offered only where every weight takes the other
    coefficient; on some weights, the per-layer list that keeps W2's (review s24a F1)."""
    r = np.random.default_rng(4)
    X, y = r.normal(size=(16, 3)), r.normal(size=(16, 1))
    some = check(_half_l2_on(("W1",)), X, y, steps=2, probe=False).findings[0]
    assert some.code == "regularization_mismatch" and "declare l2=0.25" not in some.hint, some
    assert "W2 already takes" in some.hint and "declare l2=[0.25, 0.5]" in some.hint
    every = check(_half_l2_on(("W1", "W2")), X, y, steps=2, probe=False).findings[0]
    assert every.code == "regularization_mismatch" and "declare l2=0.25" in every.hint, every
