"""A correct ``W @ x`` program with a hand-written Adam step, its gradients hidden, declared in
the other layout (review s20b, a03) was "unexplained_mismatch": the layout reading needed
gradients to read. The declared optimizer replayed from step 1 at every weight transposed
takes its steps: ``layout_declaration``. A bug in such a program is never read as one."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(layout: str, opt: str = "adam", bug: str = ""):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 3), "b1": np.zeros(3), "W2": r.randn(3, 3), "b2": np.zeros(3)}
    m = {k: np.zeros_like(v) for k, v in P.items()}
    v = {k: np.zeros_like(x) for k, x in P.items()}
    t = [0]

    def step(X, y):  # W is (out, in): z = W @ x for each sample, X @ W.T for the batch
        a1 = np.tanh(X @ P["W1"].T + P["b1"])
        out = a1 @ (P["W2"] if bug == "transposed" else P["W2"].T) + P["b2"]
        d = (out - y) / len(X)
        da = d @ P["W2"] * (1 - a1**2)
        g = {"W1": da.T @ X, "b1": da.sum(0), "W2": d.T @ a1, "b2": d.sum(0)}
        t[0] += 1
        for k in P:
            if opt == "sgd":
                P[k] -= 0.1 * g[k]
                continue
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            mh = m[k] if bug == "no_correction" else m[k] / (1 - 0.9 ** t[0])
            vh = v[k] / (1 - 0.999 ** t[0])
            lr = 0.005 if bug == "late_lr" and t[0] >= 3 else 0.01  # halved from step 3
            P[k] -= lr * mh / (np.sqrt(vh) + 1e-8)

    optimizer = "adam(lr=0.01)" if opt == "adam" else "sgd(lr=0.1)"
    decl = dict(sizes=[3, 3, 3], activations="tanh,identity", loss="half_sse", layout=layout)
    return from_step(P, list(P), step, optimizer=optimizer, **decl)


def _data():
    r = np.random.RandomState(1)
    return r.randn(8, 3), r.randn(8, 3)


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_correct_code_declared_in_the_other_layout_is_told_the_declaration(opt):
    res = check(_adapter("in_out", opt), *_data(), steps=5, watch=0, probe=False)
    assert res.codes() == ["layout_declaration"], res.render()
    f = res.findings[0]
    assert f.params == ("W1", "b1", "W2", "b2") and f.step == 1
    assert f.hint == "declare layout='out_in'"
    assert "your code computes W @ x (layout 'out_in') where layout='in_out'" in f.evidence
    assert "parts from" not in f.evidence  # every step replayed holds


def test_the_same_code_in_its_own_layout_matches():
    assert check(_adapter("out_in"), *_data(), steps=3, watch=0, probe=False).code == "match"


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
@pytest.mark.parametrize("bug", ["transposed", "no_correction"])
def test_a_bug_in_such_code_is_no_layout_declaration(layout, bug):
    res = check(_adapter(layout, bug=bug), *_data(), steps=3, watch=0, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert "layout_declaration" not in res.codes(), res.render()


def test_a_later_departure_is_said_beside_the_layout_not_hidden_by_it():
    """Review s21: lr halved from step 3 in such code; the layout holds at steps 1-2 only, and
    the finding says so instead of claiming every step (the replay runs over all steps)."""
    res = check(_adapter("in_out", bug="late_lr"), *_data(), steps=5, watch=0, probe=False)
    f = res.findings[0]
    assert f.code == "layout_declaration", res.render()
    assert "(steps 1-2; at step 3 your step parts from PyTorch's in that layout too)" in f.evidence
    assert f.hint == "declare layout='out_in', then check again: step 3 has a departure of its own"
    assert check(_adapter("out_in", bug="late_lr"), *_data(), steps=5, watch=0,
                 probe=False).code == "implementation_bug"  # fmt: skip
