"""A norm clip whose `if norm > max_norm` is forgotten rescales every step to the clip's length:
where the clip binds at every step compared it is the clip (review s36 F3: a match, parting
from PyTorch's training at step 1,421). One step with the targets moved towards the outputs,
where the clip lets go, shows it (clip_unbound.py); a clip with its if, in PyTorch's form or
the textbook's, still matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

r = np.random.RandomState(3)
X = r.randn(32, 3)
Y = 8 * np.sin(X[:, :1]) + 4 * X[:, 1:2] * X[:, 2:3] + 10  # far: the clip binds throughout


class Regressor:
    def __init__(self, form: str):
        g = np.random.RandomState(0)
        self.W1, self.b1 = g.randn(3, 16) / np.sqrt(3), np.zeros(16)
        self.W2, self.b2 = g.randn(16, 1) / 4.0, np.zeros(1)
        self.form = form

    def forward(self, X):
        self.h = np.tanh(X @ self.W1 + self.b1)
        return self.h @ self.W2 + self.b2

    def step(self, X, y):
        d = 2 * (self.forward(X) - y) / y.size
        dh = d @ self.W2.T * (1 - self.h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": self.h.T @ d, "b2": d.sum(0)}
        norm = np.sqrt(sum(np.sum(v**2) for v in g.values()))
        if self.form == "always":  # the if forgotten
            scale = 1.0 / norm
        elif self.form == "textbook":
            scale = min(1.0, 1.0 / norm)
        else:  # PyTorch's clip_grad_norm_
            scale = min(1.0, 1.0 / (norm + 1e-6))
        for k, v in g.items():
            setattr(self, k, getattr(self, k) - 0.01 * v * scale)


def _check(form: str, y=Y):
    net = Regressor(form)
    a = from_step(net, ["W1", "b1", "W2", "b2"], net.step, forward=net.forward, sizes=[3, 16, 1],
                  activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.01,
                  clip_grad_norm=1.0)  # fmt: skip
    return check(a, X, y, steps=3, probe=False)


def test_a_clip_that_always_rescales_is_caught_where_the_clip_lets_go():
    res = _check("always")
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert "below the declared clip_grad_norm = 1" in f.evidence, res.render()
    assert f.hint.startswith("rescale the gradients only where their norm exceeds the clip")
    assert "clip_form" not in res.codes(), res.render()  # not "both are the clip"


@pytest.mark.parametrize("form", ["torch", "textbook"])
def test_a_clip_with_its_if_matches(form):
    res = _check(form)
    assert res.code == "match", res.render()
    assert set(res.codes()) <= {"clip_form"}, res.render()
