"""The RuntimeWarnings a nonfinite finding quotes: the first, and where it only overflowed,
the line at its step that makes the NaN (0/0, inf/inf, x/0) after it. sigmoid'(z)
written e / (1 + e)^2 with e = exp(-z) divides inf by inf at z < -709, while the forward's
1 / (1 + exp(-z)) overflows there on its way to an exact 0 (review s19b, n10)."""

from __future__ import annotations

import warnings

import numpy as np

from nnparity.reference.learner import check, from_gradients
from nnparity.reference.learner.warning_note import noted


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _dsig(z):
    e = np.exp(-z)
    return e / (1 + e) ** 2


def test_the_line_that_makes_the_nan_is_quoted_not_the_harmless_overflow():
    r = np.random.RandomState(0)
    X = r.randn(40, 3) * 30
    y = (X[:, :1] > 0).astype(float)
    P = {"W1": r.randn(3, 5) * 10, "b1": np.zeros(5), "W2": r.randn(5, 1), "b2": np.zeros(1)}

    def grads(X, y):
        z1 = X @ P["W1"] + P["b1"]
        a1 = _sig(z1)
        dz2 = (_sig(a1 @ P["W2"] + P["b2"]) - y) / len(X)
        dz1 = dz2 @ P["W2"].T * _dsig(z1)
        return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

    decl = dict(sizes=[3, 5, 1], activations="sigmoid,sigmoid", loss="bce", optimizer="sgd")
    res = check(from_gradients(P, list(P), grads, lr=0.5, **decl), X, y, steps=2, probe=False)
    assert res.code == "numerical_instability", res.render()
    ev = res.findings[0].evidence
    assert "warning at step 1: RuntimeWarning 'overflow encountered in exp'" in ev, ev
    assert "; then RuntimeWarning 'invalid value encountered in divide'" in ev, ev
    assert "return e / (1 + e) ** 2" in ev, ev


def _warning(text: str) -> warnings.WarningMessage:
    return warnings.WarningMessage(RuntimeWarning(text), RuntimeWarning, "f.py", 1)


def test_a_later_step_or_a_second_overflow_keeps_the_first_warning_alone():
    first = noted(None, 1, _warning("overflow encountered in exp"))
    assert first == (1, "RuntimeWarning 'overflow encountered in exp' at f.py:1")
    invalid = _warning("invalid value encountered in divide")
    both = noted(first, 1, invalid)  # the same step: the NaN's own line follows
    assert both == (
        1,
        f"{first[1]}; then RuntimeWarning 'invalid value encountered in divide' at f.py:1",
    )
    assert noted(both, 1, _warning("divide by zero encountered in log")) == both
    assert noted(first, 2, invalid) == first  # a later step: a consequence
    assert noted(first, 1, _warning("overflow encountered in multiply")) == first


LEARNER = """
import numpy as np
from nnparity import from_gradients

r = np.random.RandomState(0)
X = r.randn(40, 3) * 30
y = (X[:, :1] > 0).astype(float)
P = {"W1": r.randn(3, 5) * 10, "b1": np.zeros(5), "W2": r.randn(5, 1), "b2": np.zeros(1)}


def sig(z):
    return 1 / (1 + np.exp(-z))


def dsig(z):
    e = np.exp(-z)
    return e / (1 + e) ** 2


def grads(X, y):
    z1 = X @ P["W1"] + P["b1"]
    a1 = sig(z1)
    dz2 = (sig(a1 @ P["W2"] + P["b2"]) - y) / len(X)
    dz1 = dz2 @ P["W2"].T * dsig(z1)
    return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}


def nnparity_adapter():
    return from_gradients(P, list(P), grads, sizes=[3, 5, 1], activations="sigmoid,sigmoid",
                          loss="bce", optimizer="sgd", lr=0.5, data=(X, y))
"""


def test_the_sandbox_sends_the_nan_making_warning_too(tmp_path, capsys):
    """Review s20b: the sandbox sent each call's first RuntimeWarning alone, so a file checked
    from the command line quoted the forward's harmless overflow only."""
    from nnparity.reports.cli import main

    f = tmp_path / "dsig.py"
    f.write_text(LEARNER)
    assert main(["check", str(f), "--steps", "2", "--no-training-probe"]) == 1
    out = capsys.readouterr().out
    assert "; then RuntimeWarning 'invalid value encountered in divide' at dsig.py:" in out, out


def test_a_batch_max_softmax_that_underflows_is_no_overflow():
    """Review s20b, d04: exp(z - z.max()) with the max over the whole batch leaves a row's exps
    at 0 and divides 0 by 0; nothing overflows in that code, where "exp overflows in the loss"
    was said from PyTorch's logits."""
    r = np.random.RandomState(0)
    labels = r.randint(0, 3, 30)
    X = r.uniform(0, 255, (30, 4)) + 60.0 * labels[:, None]
    w = np.random.RandomState(3)
    P = {"W1": w.randn(4, 6) * 1.5, "b1": np.zeros(6), "W2": w.randn(6, 3) * 1.5, "b2": np.zeros(3)}

    def forward(X):
        a1 = np.maximum(X @ P["W1"] + P["b1"], 0)
        z = a1 @ P["W2"] + P["b2"]
        e = np.exp(z - z.max())  # the batch's max, not each row's
        return a1, e / e.sum(axis=1, keepdims=True)

    def grads(X, y):
        a1, p = forward(X)
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        da = d @ P["W2"].T * (a1 > 0)
        return {"W1": X.T @ da, "b1": da.sum(0), "W2": a1.T @ d, "b2": d.sum(0)}

    decl = dict(sizes=[4, 6, 3], activations="relu,softmax", loss="cross_entropy")
    a = from_gradients(P, list(P), grads, forward=lambda X: forward(X)[1], optimizer="sgd",
                       lr=0.01, **decl)  # fmt: skip
    res = check(a, X, labels, steps=2, probe=False)
    ev = res.findings[0].evidence
    assert res.code == "numerical_instability", res.render()
    assert "likely operation: an invalid operation in your code (0/0" in ev, ev
    assert "exp overflows" not in ev, ev
