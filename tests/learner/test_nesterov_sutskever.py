"""Nesterov momentum in Sutskever et al.'s form (review s12, s14): the gradient at the
look-ahead point w - lr mu v with w kept is PyTorch's SGD(nesterov=True) in another
parameterisation; it was an unexplained mismatch on every parameter. Now a match with a note;
the same program with a bug, or with the gradient at w (classical momentum), is not."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]
MU, LR = 0.9, 0.05


class Net:
    def __init__(self, bug: str | None = None, dtype: str = "float64", late: int = 0):
        r = np.random.RandomState(0)
        self.P = {
            "W1": (0.5 * r.randn(3, 8)).astype(dtype), "b1": (0.1 * r.randn(8)).astype(dtype),
            "W2": (0.5 * r.randn(8, 1)).astype(dtype), "b2": np.zeros(1, dtype),
        }  # fmt: skip
        self.V = {k: np.zeros_like(v) for k, v in self.P.items()}
        self.bug, self.late, self.t = bug, late, 0

    def grads(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 if self.bug == "no_tanh_prime" else 1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    def step(self, X, y):
        P, V = self.P, self.V
        self.t += 1
        lr = LR / 2 if self.late and self.t >= self.late else LR  # the bug: from step `late`
        saved = {k: P[k].copy() for k in P}
        ahead = {"minus": -1.0, "half": 0.5}.get(self.bug, 1.0)  # the look-ahead slipped
        if self.bug != "no_look_ahead":
            for k in P:
                P[k] -= ahead * LR * MU * V[k]
        g = self.grads(X, y)
        for k in P:
            P[k][...] = saved[k]
            V[k] = (MU * V[k] + g[k]).astype(P[k].dtype)
            P[k] -= (lr * V[k]).astype(P[k].dtype)


def _check(net: Net, dtype: str = "float64", exposed: bool = False):
    r = np.random.RandomState(1)
    X = r.randn(32, 3)
    y = np.sin(X @ r.randn(3, 1))
    decl = dict(sizes=[3, 8, 1], activations="tanh,identity", loss="mse",
                optimizer=f"sgd(momentum={MU},nesterov=true)", lr=LR)  # fmt: skip
    a = (
        from_gradients(net.P, NAMES, net.grads, step=net.step, **decl)
        if exposed
        else from_step(net.P, NAMES, net.step, **decl)
    )
    return check(a, X.astype(dtype), y.astype(dtype), steps=5, probe=False)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_sutskevers_form_is_a_match_with_a_note(dtype):
    r = _check(Net(dtype=dtype), dtype)
    assert r.code == "match", r.render()
    assert [f.code for f in r.findings if f.code == "nesterov_form"], r.render()


def test_a_bug_in_sutskevers_form_is_still_a_bug():
    r = _check(Net("no_tanh_prime"))
    assert r.code == "implementation_bug", r.render()
    assert "nesterov_form" not in r.codes(), r.render()


def test_the_gradient_at_w_is_classical_momentum():
    r = _check(Net("no_look_ahead"))
    assert r.code == "implementation_bug", r.render()
    assert "classical momentum" in r.findings[0].evidence, r.render()


@pytest.mark.parametrize("late", [4, 40])
def test_a_bug_that_starts_later_is_said_at_its_step(late):
    """Review s14b: the form was read off the first five steps and every later mismatch
    dropped; now each step is judged under the look-ahead reading, through the steps compared
    (4) and on through the watch (40)."""
    r = _check(Net(late=late))
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "nesterov_form_mismatch" and f.step == late, r.render()


def test_the_form_with_the_gradients_exposed_is_a_match_too():
    """Review s23a F2: with the gradients exposed (from_gradients, step=) the update was
    judged from the gradients at w alone, "no known sgd variant"; the look-ahead reading is
    now tried there too, and a late bug still parts at its step."""
    r = _check(Net(), exposed=True)
    assert r.code == "match", r.render()
    assert "nesterov_form" in r.codes(), r.render()
    late = _check(Net(late=4), exposed=True)
    assert late.code == "implementation_bug", late.render()
    assert late.findings[0].step == 4, late.render()


@pytest.mark.parametrize(("bug", "said"), [("minus", "w - mu v"), ("half", "w + 0.5 mu v")])
def test_a_look_ahead_point_slipped_is_named(bug, said):
    """Review s30a F4: a look-ahead at w - mu v, or at half of it, agrees at step 1 (v = 0)
    and parts from step 2; it was an unexplained gradient c = 1/(1 + mu) at step 1."""
    r = _check(Net(bug))
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "optimizer_update_mismatch" and f.step == 2, r.render()
    assert f"look-ahead point {said} where w + mu v belongs" in f.evidence, f.evidence
