"""PyTorch's idiom of a model that returns logits, trained with BCEWithLogitsLoss, whose
predict applies the sigmoid (review s23a F14): it was ``wrong_activation`` with the fix
"a = identity(z)", which would make predict return logits; the softmax analogue under
cross-entropy was already a note. Now a ``sigmoid_output`` note beside the match; a forward
that returns anything else still parts."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _net(predict: str):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 5) * 0.5, "b1": np.zeros(5), "W2": r.randn(5, 1) * 0.5, "b2": np.zeros(1)}

    def logits(X):
        h = np.tanh(X @ P["W1"] + P["b1"])
        return h, h @ P["W2"] + P["b2"]

    def forward(X):
        z = logits(X)[1]
        return {"sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z), "logits": z}[predict]

    def grads(X, y):
        h, z = logits(X)
        d = (1 / (1 + np.exp(-z)) - y) / len(X)
        dz = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    decl = dict(sizes=[3, 5, 1], activations="tanh,identity", loss="bce_with_logits")
    return from_gradients(P, list(P), grads, forward=forward, optimizer="sgd", lr=0.5, **decl)


def _check(predict):
    r = np.random.RandomState(1)
    X = r.randn(16, 3)
    return check(_net(predict), X, (X[:, :1] > 0).astype(float), steps=3, probe=False)


@pytest.mark.parametrize("predict", ["sigmoid", "logits"])
def test_a_predict_of_probabilities_or_logits_matches(predict):
    r = _check(predict)
    assert r.verdict == "match", r.render()
    said = [f.code for f in r.findings]
    assert said == (["sigmoid_output"] if predict == "sigmoid" else []), r.render()


def test_another_output_still_parts():
    r = _check("tanh")
    assert r.verdict == "implementation_bug", r.render()
