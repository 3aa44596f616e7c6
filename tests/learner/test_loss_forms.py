"""A loss value in another valid form than the twin's: BCE taken on the sigmoid's output,
as PyTorch's BCELoss takes it, parts from the logits form where an output saturates (review
s16b r01: the note called the logits form "PyTorch's" and blamed a term scaled or left out).
A value that is truly off is still `loss_value_mismatch`."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _check(value: str):
    r = np.random.RandomState(0)
    X = r.randn(64, 3)
    y = ((X[:, 0] * X[:, 1] + 0.5 * X[:, 2]) > 0).astype(float)[:, None]
    q = np.random.RandomState(1)
    P = {"W1": 20 * q.randn(3, 6) / np.sqrt(3), "b1": np.zeros(6),
         "W2": 20 * q.randn(6, 1) / np.sqrt(6), "b2": np.zeros(1)}  # fmt: skip  # saturated

    def loss_grads(X, y):
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        a = 1 / (1 + np.exp(-(a1 @ P["W2"] + P["b2"])))
        with np.errstate(divide="ignore"):
            terms = y * np.log(a) + (1 - y) * np.log(1 - a)
        loss = -np.mean(np.maximum(terms, -100))  # as BCELoss: each log held above -100
        loss = {"naive": loss, "half": loss / 2}[value]
        dz2 = (a - y) / len(X)
        dz1 = dz2 @ P["W2"].T * (1 - a1**2)
        return loss, {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

    a = from_gradients(P, list(P), loss_grads, sizes=[3, 6, 1], activations="tanh,sigmoid",
                       loss="bce", optimizer="sgd", lr=0.1)  # fmt: skip
    return check(a, X, y, steps=3, probe=False)


@pytest.mark.parametrize("value", ["naive", "half"])
def test_bce_on_the_sigmoids_output_is_its_own_note_and_a_halved_value_is_not(value):
    r = _check(value)
    assert r.code == "match", r.render()
    codes = [f.code for f in r.findings]
    want = "loss_value_form" if value == "naive" else "loss_value_mismatch"
    assert want in codes, r.render()
    if value == "naive":
        assert "BCEWithLogitsLoss" in r.finding("loss_value_form").evidence
