"""A factor near one is a factor: printed with the digits that show it (1.0001, not 1.0000), and
an unexplained gradient that is one constant off says the constant (review s6)."""

import numpy as np
import pytest

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


@pytest.mark.parametrize(("divide_by", "named"), [(15, True), (12.4, False)])
def test_a_divisor_other_than_the_batch_s_rows_is_named_with_it(divide_by, named):
    """Samson Zhang's global m (the rows before the train/dev split) divides a batch of 12 by
    15: c = 12/15, said as such (review s8a: 'look for a missing or extra factor')."""
    from tanh_net import adapter, net, passes

    P, X, Y = net()

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        s = len(X) / divide_by  # the mean over divide_by rows
        return [s * X.T @ dh, s * dh.sum(0), s * h.T @ do, s * do.sum(0)]

    res = check(adapter(P, grads), X, Y, steps=3, probe=False)
    f = res.findings[0]
    assert f.code == "scale_factor", res.render()
    said = "c = 12/15: your gradient divides by 15 where this batch has 12 rows"
    assert (said in f.hint) == named, f.hint
