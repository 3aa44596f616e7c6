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


def _w_at_x(bug: str = "", head: str = "identity", forward: bool = True):
    """Correct ``W @ x`` code (weights (out, in)), declared 'in_out' below; ``bug``: 'short'
    divides by a fixed batch of 4 (a shorter last batch is wrong from step 3), 'no_tanh'
    leaves out tanh's derivative (every step)."""
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 3), "b1": np.zeros(3), "W2": r.randn(3, 3), "b2": np.zeros(3)}
    outs = {"identity": lambda z: z, "sigmoid": lambda z: 1 / (1 + np.exp(-z))}

    def fwd(X):
        a1 = np.tanh(X @ P["W1"].T + P["b1"])
        z2 = a1 @ P["W2"].T + P["b2"]
        if head == "softmax":
            e = np.exp(z2 - z2.max(1, keepdims=True))
            return a1, e / e.sum(1, keepdims=True)
        return a1, outs[head](z2)

    def grads(X, y):
        a1, out = fwd(X)
        d = (out - y) / (4 if bug == "short" else len(X))  # dL/dz2 of each loss here, BCE's
        d = d / 3 if head == "sigmoid" else d  # a mean over every output (N * 3 entries)
        da = d @ P["W2"] * (1 if bug == "no_tanh" else 1 - a1**2)
        return {"W1": da.T @ X, "b1": da.sum(0), "W2": d.T @ a1, "b2": d.sum(0)}

    loss = {"identity": "half_sse", "sigmoid": "bce", "softmax": "cross_entropy"}[head]
    decl = dict(sizes=[3, 3, 3], activations=f"tanh,{head}", loss=loss, optimizer="sgd")
    fw = dict(forward=lambda X: fwd(X)[1]) if forward else {}
    return from_gradients(P, list(P), grads, layout="in_out", lr=0.1, batch_size=4, **decl, **fw)


def _data10(head: str = "identity"):
    r = np.random.RandomState(1)
    X = r.randn(10, 3)
    if head == "softmax":
        return X, np.eye(3)[r.randint(0, 3, 10)]
    return X, (r.rand(10, 3) > 0.5) * 1.0 if head == "sigmoid" else r.randn(10, 3)


@pytest.mark.parametrize("head", ["identity", "sigmoid", "softmax"])
@pytest.mark.parametrize("forward", [True, False])
def test_the_declaration_read_over_every_step_claims_them_all_where_all_hold(forward, head):
    """Correct code under each output head, read from the forward output or the gradients:
    every step holds in the other layout, and the finding adds nothing."""
    res = check(_w_at_x(head=head, forward=forward), *_data10(head), steps=5, watch=0, probe=False)
    assert res.codes() == ["layout_declaration"], res.render()
    assert "PyTorch's in that layout too" not in res.findings[0].evidence
    assert res.findings[0].hint == "declare layout='out_in'"


@pytest.mark.parametrize("forward", [True, False])
def test_a_later_departure_is_said_beside_the_layout_not_hidden_by_it(forward):
    """Review s21: the layout reading was taken from the first failing step and the one after
    alone, so a bug from step 3 (a fixed batch of 4 where the last has 2 rows) was hidden
    behind "your numbers are PyTorch's with every weight transposed"."""
    res = check(_w_at_x("short", forward=forward), *_data10(), steps=5, watch=0, probe=False)
    f = res.findings[0]
    assert f.code == "layout_declaration", res.render()
    assert f.evidence.endswith(
        "(steps 1-2; at step 3 your gradients part from PyTorch's in that layout too)"
    ), f.evidence
    assert f.hint == "declare layout='out_in', then check again: step 3 has a departure of its own"


def test_a_backward_bug_under_a_forward_read_in_the_other_layout_is_said_at_once():
    """The forward output holds in the other layout; the gradients of the same step do not."""
    res = check(_w_at_x("no_tanh"), *_data10(), steps=3, watch=0, probe=False)
    f = res.findings[0]
    assert f.code == "layout_declaration", res.render()
    assert f.evidence.endswith(
        "(the forward output alone; at step 1 your gradients part from PyTorch's in that "
        "layout too)"
    ), f.evidence
    assert f.hint.endswith("then check again: step 1 has a departure of its own")
