"""A factor near one is a factor: printed with the digits that show it (1.0001, not 1.0000), and
an unexplained gradient that is one constant off says the constant (review s6)."""

import numpy as np

from nnparity.reference.learner import check, from_gradients


def test_a_factor_near_one_is_printed_with_the_digits_that_show_it():
    from nnparity.reference.learner.result import factor_text

    assert factor_text(1.0001) == "1.0001" and factor_text(1.000001) == "1.000001"
    assert factor_text(1 + 1e-13) == "1.0000"  # a fitted 1's round-off is not a factor
    assert factor_text(2.0) == "2.0000" and factor_text(1.0000003, 4, "g") == "1.0000003"


def test_a_gradient_one_millionth_off_is_unexplained_but_its_constant_is_said():
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 5), "b1": np.zeros(5), "W2": r.randn(5, 2), "b2": np.zeros(2)}
    X, Y = r.randn(12, 3), r.randn(12, 2)

    def grads(X, Y, off=1 + 1e-6):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = (h @ P["W2"] + P["b2"] - Y) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh * off, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    names = ["['W1']", "['b1']", "['W2']", "['b2']"]
    decl = dict(sizes=[3, 5, 2], activations="tanh,identity", loss="half_sse", lr=0.1)
    a = from_gradients(P, names, grads, optimizer="sgd", **decl)
    res = check(a, X, Y, steps=2, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert "c = 1.000001 times PyTorch's" in res.findings[0].evidence, res.render()
