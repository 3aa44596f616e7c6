"""A forward pass that returns the logits where the last activation is declared sigmoid or
softmax (CS231n's ``loss(X)`` returns the scores): a note beside a match when the training
path applies the activation (review s9c #17: it was `wrong_activation`, identity for sigmoid),
and still a bug when the network lacks the activation altogether."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

R = np.random.default_rng(3)
X = R.normal(size=(12, 4))


def _net(last: str, sigmoid_in_training: bool = True):
    """4-6-K relu net; forward returns the scores; gradients through ``last`` (or not)."""
    k = 1 if last == "sigmoid" else 3
    y = (R.random((12, 1)) < 0.5).astype(float) if k == 1 else R.integers(0, 3, 12)
    P = {"W1": R.normal(0, 0.5, (4, 6)), "b1": np.zeros(6), "W2": R.normal(0, 0.5, (6, k)),
         "b2": np.zeros(k)}  # fmt: skip

    def scores(X):
        h = np.maximum(X @ P["W1"] + P["b1"], 0)
        return h, h @ P["W2"] + P["b2"]

    def grads(X, y):
        h, z = scores(X)
        if last == "sigmoid":
            a = 1 / (1 + np.exp(-z)) if sigmoid_in_training else z
            dz = (a - y) / y.size
        else:
            e = np.exp(z - z.max(1, keepdims=True))
            dz = e / e.sum(1, keepdims=True)
            dz[np.arange(len(y)), y] -= 1
            dz /= len(y)
        dh = dz @ P["W2"].T * (h > 0)
        return [X.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]

    loss = "bce" if last == "sigmoid" else "cross_entropy"
    a = from_gradients(P, list(P), grads, forward=lambda X: scores(X)[1], sizes=[4, 6, k],
                       activations=f"relu,{last}", loss=loss, lr=0.1)  # fmt: skip
    return a, y


@pytest.mark.parametrize(("last", "cut"), [("sigmoid", "at 0, not 0.5"), ("softmax", "largest")])
def test_logits_from_the_forward_pass_are_a_note_beside_a_match(last, cut):
    a, y = _net(last)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "match", r.render()
    (f,) = [f for f in r.findings if f.code == "logits_output"]
    assert f.kind == "note" and f"before its {last}" in f.evidence and cut in f.hint


def test_a_network_without_its_sigmoid_is_still_a_bug():
    a, y = _net("sigmoid", sigmoid_in_training=False)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert "logits_output" not in r.codes()


def test_a_forward_that_returns_labels_is_refused_with_the_function_to_pass():
    """Review s9c: forward=net.predict (a > 0.5) was an unexplained forward mismatch."""
    from nnparity.reference.learner import LearnerError

    a, y = _net("sigmoid")
    scores = a.forward
    a.forward = lambda X: (1 / (1 + np.exp(-scores(X))) > 0.5).astype(float)
    with pytest.raises(LearnerError, match="returns labels .* pass the function that returns"):
        check(a, X, y, steps=2, probe=False)


@pytest.mark.parametrize("transposed", [True, False])
def test_a_square_output_one_column_per_sample_is_a_note(transposed):
    """Review s10d: with as many outputs as samples (batch 3, 3 classes), a forward returning
    (classes, samples) was an unexplained forward mismatch; non-square it is read silently."""
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 1, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 1, (6, 3)),
         "b2": np.zeros(3)}  # fmt: skip
    X, y = r.normal(size=(12, 3)), r.integers(0, 3, 12)

    def forward(X):
        z = np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]
        e = np.exp(z - z.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        return p.T if transposed else p

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        z = h @ P["W2"] + P["b2"]
        e = np.exp(z - z.max(1, keepdims=True))
        d = e / e.sum(1, keepdims=True)
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        dh = d @ P["W2"].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

    a = from_gradients(P, list(P), grads, forward=forward, sizes=[3, 6, 3],
                       activations="tanh,softmax", loss="cross_entropy", lr=0.1,
                       batch_size=3)  # fmt: skip
    res = check(a, X, y, steps=3, probe=False)
    assert res.code == "match", res.render()
    assert ("forward_output_transposed" in res.codes()) == transposed
