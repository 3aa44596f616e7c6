"""An L2 term of the wrong sign in the gradients is said as such and never offered as a
declaration (review s25e F2: "declare l2=-0.1" declared a sign bug; a negative l2 is refused
with exit 2, so the advice led nowhere): undeclared on the weights, or on the biases; a
positive undeclared penalty still gets its declaration."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

R = np.random.RandomState(0)
X, Y = R.randn(16, 3), R.randn(16, 2)


def _findings(lam, lam_b, **kw):
    r = np.random.RandomState(1)
    P = {"W1": r.randn(3, 4) * 0.5, "b1": np.full(4, 0.1), "W2": r.randn(4, 2) * 0.5,
         "b2": np.full(2, 0.2)}  # fmt: skip

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        return {k: v + (lam if k[0] == "W" else lam_b) * P[k] for k, v in g.items()}

    a = from_gradients(P, list(P), grads, sizes=[3, 4, 2], activations="tanh,identity",
                       loss="mse", lr=0.1, **kw)  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    assert res.code == "implementation_bug", res.render()
    return [f for f in res.findings if f.kind != "note"]


@pytest.mark.parametrize(("lam", "lam_b"), [(-0.05, 0.0), (0.0, -0.05), (-0.05, -0.05)])
def test_a_negative_penalty_is_a_sign_never_a_declaration(lam, lam_b):
    found = _findings(lam, lam_b)
    assert {f.code for f in found} == {"regularization_mismatch"}
    for f in found:
        assert "=-" not in f.hint, f.hint
    said = " ".join(f.evidence + f.hint for f in found)
    assert "wrong sign" in said, said


def test_a_positive_undeclared_penalty_gets_its_declaration():
    (f,) = _findings(0.05, 0.0)
    assert "declare l2=0.05" in f.hint, f.hint
