"""Review s6c: gradients computed by finite differences of the loss (a gradient check used as
the gradient) are named with their kind and step, where the differences' truncation error is
what parts; differences so fine that their round-off dominates stay unexplained (no claim)."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients


def _run(kind: str, h: float, bug: float = 1.0):
    r = np.random.RandomState(0)
    X, y = r.randn(20, 3), (r.randn(20, 1) > 0).astype(float)
    P = {"W1": r.randn(3, 6) * 0.5, "b1": np.zeros(6), "W2": r.randn(6, 1) * 0.5, "b2": np.zeros(1)}

    def loss(X, y):
        a = 1 / (1 + np.exp(-(np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"])))
        return -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))

    def grads(X, y):
        out = {}
        for k, v in P.items():
            g = np.zeros_like(v)
            for i in np.ndindex(v.shape):
                old = v[i]
                v[i] = old + h
                up = loss(X, y)
                v[i] = old - h if kind == "central" else old
                down = loss(X, y)
                v[i] = old
                g[i] = (up - down) / (2 * h if kind == "central" else h)
            out[k] = g * bug
        return out

    a = from_gradients(P, list(P), grads, sizes=[3, 6, 1], activations="tanh,sigmoid",
                       loss="bce", lr=0.5)  # fmt: skip
    return check(a, X, y, steps=3, probe=False)


@pytest.mark.parametrize(("kind", "h"), [("central", 1e-2), ("central", 1e-4), ("forward", 1e-5)])
def test_finite_difference_gradients_are_named_with_their_step(kind, h):
    r = _run(kind, h)
    f = r.findings[0]
    assert f.code == "finite_difference_gradients", r.render()
    assert f"{kind} differences with a step of {h:g}" in f.evidence


def test_a_bug_on_top_of_the_differences_is_not_read_as_them():
    r = _run("central", 1e-2, bug=1.001)
    assert "finite_difference_gradients" not in r.codes(), r.render()


def test_differences_so_fine_that_round_off_dominates_are_said_as_scattered_not_named():
    r = _run("central", 1e-6)
    f = r.findings[0]
    assert f.code == "unexplained_mismatch", r.render()
    assert "scattered with no constant factor" in f.evidence
