"""LEARNER_BUGS.md 12: a softmax backward pass that keeps only the Jacobian's diagonal is named
``softmax_jacobian``; the full Jacobian matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _softmax_mse_net(diagonal):
    """tanh -> softmax with half_sse: the softmax's own Jacobian is in the backward pass."""
    rng = np.random.default_rng(3)
    P = {
        "W1": rng.normal(0, 0.8, (3, 5)),
        "b1": np.zeros(5),
        "W2": rng.normal(0, 0.8, (5, 4)),
        "b2": np.zeros(4),
    }

    def grads(X, y):
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        z2 = a1 @ P["W2"] + P["b2"]
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        a2 = e / e.sum(axis=1, keepdims=True)
        da2 = (a2 - y) / len(X)
        if diagonal:  # the bug: each class as if it were alone
            dz2 = da2 * a2 * (1 - a2)
        else:
            dz2 = a2 * (da2 - (da2 * a2).sum(axis=1, keepdims=True))
        dz1 = dz2 @ P["W2"].T * (1 - a1**2)
        return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

    declared = dict(
        sizes=[3, 5, 4], activations="tanh,softmax", loss="half_sse", optimizer="sgd", lr=0.5
    )
    return from_gradients(P, ["W1", "b1", "W2", "b2"], grads, **declared)


@pytest.mark.parametrize("diagonal", [False, True])
def test_softmax_jacobian_diagonal_only(diagonal):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 3)), np.eye(4)[rng.integers(0, 4, 8)]
    r = check(_softmax_mse_net(diagonal), X, Y, steps=3, probe=False)
    if not diagonal:
        assert r.verdict == "match", r.render()
        return
    assert r.verdict == "implementation_bug" and r.codes() == ["softmax_jacobian"], r.render()
    assert set(r.findings[0].params) == {"W2", "b2"} and r.findings[0].step == 1
    assert "only the diagonal of softmax's Jacobian" in r.findings[0].evidence
    assert "(da * a).sum(axis=1, keepdims=True)" in r.findings[0].hint


def _softmax_ce_net(dz2_of):
    """tanh -> 4 logits, softmax p; the output's dz2 = ``dz2_of(p, y, N)``; the generator
    after the weights' draws, for data."""
    rng = np.random.default_rng(3)
    P = {"W1": rng.normal(0, 0.8, (3, 5)), "b1": np.zeros(5),
         "W2": rng.normal(0, 0.8, (5, 4)), "b2": np.zeros(4)}  # fmt: skip

    def grads(X, y):
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        z2 = a1 @ P["W2"] + P["b2"]
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        dz2 = dz2_of(e / e.sum(axis=1, keepdims=True), y, len(X))
        dz1 = dz2 @ P["W2"].T * (1 - a1**2)
        return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

    return P, grads, rng


@pytest.mark.parametrize("diagonal", [False, True, "diagflat"])
def test_a_softmax_layer_of_its_own_under_cross_entropy(diagonal):
    """Review s6: Keras-style, a Softmax layer whose backward keeps the diagonal, under
    cross_entropy on its output (activations '...,softmax'): was four unexplained mismatches;
    nnfs's Jacobian with its -s s^T term left out, np.diagflat(s) alone (review s24a F6)."""

    def dz2_of(p, y, n):
        dp = -np.eye(4)[y] / p / n  # cross-entropy on the probabilities
        if diagonal == "diagflat":
            return dp * p
        return dp * p * (1 - p) if diagonal else p * (dp - (dp * p).sum(axis=1, keepdims=True))

    P, grads, rng = _softmax_ce_net(dz2_of)

    decl = dict(sizes=[3, 5, 4], activations="tanh,softmax", loss="cross_entropy", lr=0.5)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 4, 8)
    r = check(
        from_gradients(P, ["W1", "b1", "W2", "b2"], grads, **decl), X, y, steps=3, probe=False
    )
    if not diagonal:
        assert r.verdict == "match", r.render()
        return
    assert r.codes() == ["softmax_jacobian"], r.render()
    assert "your softmax layer's Jacobian" in r.findings[0].evidence
    if diagonal == "diagflat":
        assert "np.diagflat(p)" in r.findings[0].evidence and "not da * a" in r.findings[0].hint


@pytest.mark.parametrize("twice", [False, True])
@pytest.mark.parametrize("last", ["softmax", "identity"])
def test_the_softmax_jacobian_applied_again_to_p_minus_y_is_named(twice, last):
    """Review s18a: cross-entropy's dz = p - y, then the softmax's backward once more (its
    Jacobian on p - y): was four unexplained mismatches; now derivative_of_output at layer 2."""

    def dz2_of(p, y, n):
        dz2 = (p - np.eye(4)[y]) / n
        return p * (dz2 - (dz2 * p).sum(axis=1, keepdims=True)) if twice else dz2

    P, grads, _ = _softmax_ce_net(dz2_of)

    a = from_gradients(P, ["W1", "b1", "W2", "b2"], grads, sizes=[3, 5, 4],
                       activations=f"tanh,{last}", loss="cross_entropy", optimizer="sgd",
                       lr=0.5)  # fmt: skip
    rng = np.random.default_rng(0)
    r = check(a, rng.normal(size=(8, 3)), rng.integers(0, 4, 8), steps=3, probe=False)
    if not twice:
        assert r.verdict == "match", r.render()
        return
    assert r.codes() == ["derivative_of_output"], r.render()
    f = r.findings[0]
    assert f.layer == 2 and "Jacobian applied again to p - y" in f.evidence
    assert "no softmax backward after it" in f.hint
