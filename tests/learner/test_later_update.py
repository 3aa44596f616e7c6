"""A hidden step whose update carries its past otherwise than declared: Raschka's first-edition
momentum, ``w -= eta g + alpha delta_prev`` (one earlier step, where PyTorch keeps a velocity),
agrees at steps 1-2 and parts from step 3 on every parameter at once. Review s50 F3: four
unexplained gradients with "finite differences" as the fix; now one finding that says the
update is the suspect. A gradient bug behind the same step still parts from step 1, named."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Net:
    def __init__(self, form: str, grad_bug: bool = False):
        r = np.random.RandomState(0)
        self.P = {"W1": 0.5 * r.randn(3, 6), "b1": np.zeros(6), "W2": 0.5 * r.randn(6, 2),
                  "b2": np.zeros(2)}  # fmt: skip
        self.prev = {k: np.zeros_like(v) for k, v in self.P.items()}
        self.form, self.bug = form, grad_bug

    def step(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dz = d @ P["W2"].T * (1 - h**2) * (2.0 if self.bug else 1.0)
        g = {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        for k in NAMES:
            if self.form == "raschka":  # the previous step's delta, not a velocity
                delta = 0.05 * g[k] + 0.5 * self.prev[k]
                self.prev[k] = 0.05 * g[k]
            else:  # PyTorch's velocity
                self.prev[k] = 0.5 * self.prev[k] + g[k]
                delta = 0.05 * self.prev[k]
            P[k] -= delta


def _check(net: Net):
    r = np.random.RandomState(1)
    X = r.randn(16, 3)
    y = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]
    a = from_step(net.P, NAMES, net.step, sizes=[3, 6, 2], activations="tanh,identity",
                  loss="mse", optimizer="sgd(momentum=0.5)", lr=0.05)  # fmt: skip
    return check(a, X, y, steps=6, probe=False)


def test_pytorchs_velocity_matches():
    assert _check(Net("torch")).code == "match"


def test_another_memory_of_past_steps_is_said_as_the_update():
    r = _check(Net("raschka"))
    f = r.findings[0]
    assert (r.code, f.code, f.step) == ("implementation_bug", "unexplained_mismatch", 3), r.render()
    assert len(f.params) == 4 and "carries its past otherwise than declared" in f.evidence
    assert "finite-difference" not in f.hint, r.render()


def test_a_gradient_bug_behind_the_same_step_parts_from_step_1():
    r = _check(Net("torch", grad_bug=True))
    assert r.code == "implementation_bug" and r.findings[0].step == 1, r.render()
    assert "carries its past" not in r.findings[0].evidence, r.render()
