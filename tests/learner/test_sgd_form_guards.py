"""An SGD form is read off a step that hides its gradients only where it could show: review
s10a found Britz's L2 coefficient halved (reg_lambda = 1e-5 declared, dW += reg_lambda / 2 W
in the step) named as 'classical momentum mu = 2.4e-07' at step 1, where a momentum buffer
starting at g changes nothing, and where the declared form already follows the steps within
the search's resolution."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _britz(reg_lambda, coded, momentum=0.0):
    """Denny Britz's nn-from-scratch one_pass (tanh, softmax, summed cross-entropy, L2 on
    dW only, full batch), with ``coded`` times reg_lambda in its update."""
    rng = np.random.RandomState(0)
    t, lab = rng.rand(40) * np.pi, rng.randint(0, 2, 40)
    X = np.c_[np.cos(t) + lab, np.sin(t) * (1 - 2 * lab) + 0.5 * lab] + 0.2 * rng.randn(40, 2)
    rng = np.random.RandomState(0)  # init_model reseeds
    m = {"W1": rng.randn(2, 3) / np.sqrt(2), "b1": np.zeros((1, 3)),
         "W2": rng.randn(3, 2) / np.sqrt(3), "b2": np.zeros((1, 2))}  # fmt: skip
    vel = {}

    def one_pass(X, y):
        a1 = np.tanh(X @ m["W1"] + m["b1"])
        e = np.exp(a1 @ m["W2"] + m["b2"])
        d3 = e / e.sum(axis=1, keepdims=True)
        d3[range(len(X)), y] -= 1
        d2 = d3 @ m["W2"].T * (1 - a1**2)
        g = {"W1": X.T @ d2 + coded * reg_lambda * m["W1"], "b1": d2.sum(0),
             "W2": a1.T @ d3 + coded * reg_lambda * m["W2"], "b2": d3.sum(0)}  # fmt: skip
        for k, p in m.items():
            vel[k] = momentum * vel.get(k, 0.0) - 0.01 * g[k]
            p += vel[k]

    a = from_step(m, list(m), one_pass, sizes=[2, 3, 2], activations="tanh,softmax",
                  loss="cross_entropy", reduction="sum", l2=reg_lambda, optimizer="sgd",
                  lr=0.01)  # fmt: skip
    return check(a, X, lab, steps=6, probe=False)


@pytest.mark.parametrize("reg_lambda", [1e-5, 1e-3])
def test_a_halved_l2_is_named_as_l2_not_as_a_tiny_momentum(reg_lambda):
    r = _britz(reg_lambda, 0.5)
    assert r.code == "implementation_bug", r.render()
    assert r.codes()[0] == "regularization_mismatch", r.render()
    assert "momentum" not in r.findings[0].evidence


def test_the_correct_program_matches_and_an_undeclared_momentum_is_named():
    assert _britz(1e-5, 1.0).code == "match"
    r = _britz(1e-5, 1.0, momentum=0.9)
    assert r.codes() == ["optimizer_update_mismatch"], r.render()
    assert "classical momentum mu = 0.9" in r.findings[0].evidence
