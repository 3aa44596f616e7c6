"""The output's gradient without the target's term (``dscores = probs / N`` with the
``probs[range(N), y] -= 1`` left out, CS231n's classic slip; ``a`` for ``a - y`` under a
sigmoid and binary cross-entropy) is named ``target_missing``: review s11 found it four
``unexplained_mismatch`` findings. Tested both ways and under a sum."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

rng = np.random.default_rng(0)
X = rng.normal(size=(12, 3))
CLASSES = rng.integers(0, 3, 12)
BINARY = (X[:, :1] > 0).astype(float)


def _softmax_net(drop_target: bool, sum_: bool = False):
    r = np.random.default_rng(1)
    P = {"W1": r.normal(0, 0.5, (3, 5)), "b1": np.zeros(5), "W2": r.normal(0, 0.5, (5, 3)),
         "b2": np.zeros(3)}  # fmt: skip

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        s = h @ P["W2"] + P["b2"]
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d = p.copy()
        if not drop_target:
            d[np.arange(len(y)), y] -= 1
        d = d if sum_ else d / len(y)
        dh = d @ P["W2"].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

    loss = "cross_entropy(reduction=sum)" if sum_ else "cross_entropy"
    return from_gradients(P, list(P), grads, sizes=[3, 5, 3], activations="tanh,identity",
                          loss=loss, lr=0.1)  # fmt: skip


def _sigmoid_net(drop_target: bool):
    r = np.random.default_rng(2)
    P = {"W1": r.normal(0, 0.5, (3, 4)), "b1": np.zeros(4), "W2": r.normal(0, 0.5, (4, 1)),
         "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        d = (a if drop_target else a - y) / len(y)
        dh = d @ P["W2"].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

    return from_gradients(P, list(P), grads, sizes=[3, 4, 1], activations="tanh,sigmoid",
                          loss="bce", lr=0.1)  # fmt: skip


CASES = {
    "softmax": (lambda bug: _softmax_net(bug), CLASSES),
    "softmax, summed": (lambda bug: _softmax_net(bug, sum_=True), CLASSES),
    "sigmoid": (_sigmoid_net, BINARY),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_dropped_target_is_named(case):
    make, y = CASES[case]
    res = check(make(True), X, y, steps=2, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert res.findings[0].code == "target_missing", res.render()
    assert "subtract the target" in res.findings[0].hint
    # the layer said with the loss whose gradient it is, not "(identity)" with identity's f'
    said = "softmax + cross-entropy" if case.startswith("softmax") else "sigmoid + bce"
    assert f"at the output layer ({said})" in res.findings[0].evidence, res.render()
    assert "(for identity" not in res.findings[0].hint


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_net_with_its_target_matches(case):
    make, y = CASES[case]
    res = check(make(False), X, y, steps=2, probe=False)
    assert res.code == "match", res.render()
    assert "target_missing" not in res.codes()
