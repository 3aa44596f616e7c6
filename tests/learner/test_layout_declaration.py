"""Square weights cannot tell layout 'in_out' (x @ W) from 'out_in' (W @ x), so the check asks
for a declaration; a correct program declared in the other layout was "unexplained_mismatch:
check each layer's z and a" (review s20a, t42). Its output is PyTorch's with every weight
transposed: ``layout_declaration``, with the declaration that fits."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _adapter(layout: str, forward: bool = True, bug: bool = False, sym: bool = False):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 3), "b1": np.zeros(3), "W2": r.randn(3, 3), "b2": np.zeros(3)}
    if sym:  # W2 symmetric, and W1 transposed in the forward pass alone (a typo)
        P["W2"] = P["W2"] + P["W2"].T

    def fwd(X):
        a1 = np.tanh(X @ (P["W1"].T if sym else P["W1"]) + P["b1"])
        return a1, a1 @ (P["W2"].T if bug else P["W2"]) + P["b2"]

    def grads(X, y):
        a1, out = fwd(X)
        d = (out - y) / len(X)
        da = d @ P["W2"].T * (1 - a1**2)
        return {"W1": X.T @ da, "b1": da.sum(0), "W2": a1.T @ d, "b2": d.sum(0)}

    decl = dict(sizes=[3, 3, 3], activations="tanh,identity", loss="half_sse", optimizer="sgd")
    fw = dict(forward=lambda X: fwd(X)[1]) if forward else {}
    return from_gradients(P, list(P), grads, layout=layout, lr=0.1, **decl, **fw)


def _data():
    r = np.random.RandomState(1)
    return r.randn(8, 3), r.randn(8, 3)


@pytest.mark.parametrize("forward", [True, False])
def test_correct_code_declared_in_the_other_layout_is_told_the_declaration(forward):
    """From its forward output, or without one from its loss and gradients."""
    res = check(_adapter("out_in", forward), *_data(), steps=2, watch=0)
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert f.code == "layout_declaration", res.render()
    assert "computes x @ W (layout 'in_out') where layout='out_in' is declared" in f.evidence
    assert res.codes() == ["layout_declaration"], res.render()
    assert f.hint == "declare layout='in_out'"


def test_the_same_code_declared_in_its_own_layout_matches():
    assert check(_adapter("in_out"), *_data(), steps=2, watch=0, probe=False).code == "match"


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
@pytest.mark.parametrize("forward", [True, False])
def test_one_weight_transposed_is_no_layout_declaration(layout, forward):
    res = check(_adapter(layout, forward, bug=True), *_data(), steps=2, watch=0)
    assert res.code == "implementation_bug", res.render()
    assert "layout_declaration" not in res.codes(), res.render()


def test_a_typo_beside_a_symmetric_weight_is_the_typo_first_with_the_other_reading():
    """Review s20b, a06: W1 used transposed in the forward, W2 symmetric: every weight
    transposed gives the same output, and "declare layout='out_in'" sent the learner in a
    circle. The one layer's reading comes first; the layout's is said beside it."""
    res = check(_adapter("in_out", forward=True, sym=True), *_data(), steps=2, watch=0)
    f = res.findings[0]
    assert (f.code, f.params) == ("transposed", ("W1",)), res.render()
    assert (
        "; or, if every layer of your code computes W @ x, declare layout='out_in': W2 is "
        "symmetric" in f.hint
    ), f.hint
