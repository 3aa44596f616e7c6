"""A loss value of one loss beside the gradients of another (review s22, finding 4): a sigmoid
output whose value is mse's while its backward, leaving out sigma', is bce's, declared bce, was
a `match` with a note "training is unaffected". The program descends one loss and reports
another: a bug, said with both readings. A value of the declared loss scaled (another
reduction, or half_sse's 1/2: one sum of squares) stays the note."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _adapter(declared: str, value: str, grad: str):
    """Sigmoid output; ``value`` and ``grad``: which loss the returned value and gradients
    are ('mse', 'bce', 'half_sse', 'bce_sum')."""
    r = np.random.RandomState(0)
    P = {"W1": r.randn(2, 4), "b1": np.zeros(4), "W2": r.randn(4, 1), "b2": np.zeros(1)}

    def loss(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        bce = -(y * np.log(a) + (1 - y) * np.log(1 - a))
        L = {
            "mse": np.mean((a - y) ** 2),
            "half_sse": np.mean((a - y) ** 2) / 2,
            "bce": np.mean(bce),
            "bce_sum": np.sum(bce),
        }[value]
        d = (a - y) / len(X) if grad == "bce" else 2 * (a - y) * a * (1 - a) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        return L, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    decl = dict(sizes=[2, 4, 1], activations="tanh,sigmoid", loss=declared)
    return from_loss(P, loss, optimizer="sgd", lr=0.5, **decl)


def _data():
    r = np.random.RandomState(1)
    X = r.randn(20, 2)
    return X, (X[:, :1] * X[:, 1:] > 0).astype(float)


@pytest.mark.parametrize(("declared", "value"), [("bce", "mse"), ("mse", "bce")])
def test_the_value_of_another_loss_beside_the_declared_gradients_is_a_bug(declared, value):
    res = check(_adapter(declared, value, grad=declared), *_data(), steps=3, watch=0, probe=False)
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert (f.code, f.kind) == ("loss_value_of_another_loss", "bug"), res.render()
    assert f"is {value}'s of your outputs" in f.evidence
    assert f"your gradients are {declared}'s" in f.evidence
    assert f"declare loss='{value}'" in f.hint


def test_declared_as_its_value_the_missing_derivative_is_found():
    """The same program declared mse (its value): the backward leaving out sigma' is named."""
    res = check(_adapter("mse", "mse", grad="bce"), *_data(), steps=3, watch=0, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert "loss_value_of_another_loss" not in res.codes(), res.render()
    assert res.findings[0].code == "derivative_of_output", res.render()


@pytest.mark.parametrize("declared", ["bce", "mse"])
def test_a_consistent_program_matches(declared):
    res = check(_adapter(declared, declared, declared), *_data(), steps=3, watch=0, probe=False)
    assert res.code == "match", res.render()


@pytest.mark.parametrize(("declared", "value"), [("mse", "half_sse"), ("bce", "bce_sum")])
def test_the_declared_loss_scaled_stays_a_note(declared, value):
    res = check(_adapter(declared, value, declared), *_data(), steps=3, watch=0, probe=False)
    assert res.code == "match", res.render()
    assert res.codes() == ["loss_value_mismatch"] and res.findings[0].kind == "note"
