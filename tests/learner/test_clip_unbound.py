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
    def __init__(self, form: str, opt: str = "sgd", dtype=np.float64):
        g = np.random.RandomState(0)
        self.W1, self.b1 = (g.randn(3, 16) / np.sqrt(3)).astype(dtype), np.zeros(16, dtype)
        self.W2, self.b2 = (g.randn(16, 1) / 4.0).astype(dtype), np.zeros(1, dtype)
        self.form, self.opt, self.t, self.m, self.v = form, opt, 0, {}, {}

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
        self.t += 1
        for k, v in g.items():
            v = v * scale
            if self.opt == "adam":
                self.m[k] = 0.9 * self.m.get(k, 0) + 0.1 * v
                self.v[k] = 0.999 * self.v.get(k, 0) + 0.001 * v * v
                mh, vh = self.m[k] / (1 - 0.9**self.t), self.v[k] / (1 - 0.999**self.t)
                v = mh / (np.sqrt(vh) + 1e-8)
            setattr(self, k, getattr(self, k) - 0.01 * v)


def _check(form: str, opt="sgd", loss="mse", dtype=np.float64, **kw):
    net = Regressor(form, opt, dtype)
    a = from_step(net, ["W1", "b1", "W2", "b2"], net.step, forward=net.forward, sizes=[3, 16, 1],
                  activations="tanh,identity", loss=loss, optimizer=opt, lr=0.01,
                  clip_grad_norm=1.0)  # fmt: skip
    return check(a, X.astype(dtype), Y.astype(dtype), probe=False, **{"steps": 3, **kw})


@pytest.mark.parametrize(
    ("opt", "dtype"), [("sgd", np.float64), ("adam", np.float64), ("adam", np.float32)]
)
def test_a_clip_that_always_rescales_is_caught_where_the_clip_lets_go(opt, dtype):
    """Under Adam (review s38 F5) the moved step follows three on the batch: Adam's first
    step alone, about lr sign(g), is the same at any scale."""
    res = _check("always", opt, dtype=dtype, watch=0)
    assert res.code == "implementation_bug" and res.codes() == ["clip_always_rescales"]
    f = res.findings[0]
    assert "below the declared clip_grad_norm = 1" in f.evidence, res.render()
    assert f.hint.startswith("rescale the gradients only where their norm exceeds the clip")


def test_half_sse_is_probed_too():
    """Review s38 F6: half_sse (Nielsen's) and sse are as linear in out - y as mse."""
    res = _check("always", loss="half_sse", watch=0)
    assert res.codes() == ["clip_always_rescales"], res.render()


def test_a_late_mismatch_in_the_watch_is_judged_not_a_crash():
    """Review s38 F5: a mismatch first seen past the compared steps + 3 reached a step whose
    activations the watch had let go (IndexError, exit 3 in the CLI)."""
    res = _check("always", "adam", steps=10)
    assert res.code == "implementation_bug", res.render()


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("form", ["torch", "textbook"])
def test_a_clip_with_its_if_matches(form, opt):
    res = _check(form, opt)
    assert res.code == "match", res.render()
    assert set(res.codes()) <= {"clip_form"}, res.render()


def test_float16_targets_reach_the_twin_as_the_learner_got_them():
    """Review s39 F2: float16 targets beside float64 weights: the moved targets reached the
    learner rounded to float16 and the twin unrounded, clip_always_rescales on a right clip."""
    net = Regressor("torch")
    a = from_step(net, ["W1", "b1", "W2", "b2"], net.step, forward=net.forward, sizes=[3, 16, 1],
                  activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.01,
                  clip_grad_norm=1.0)  # fmt: skip
    res = check(a, X, Y.astype(np.float16), steps=3, probe=False)
    assert res.code == "match" and "clip_always_rescales" not in res.codes(), res.render()


class XorNet:
    """XOR with integer targets, lr 0.5 and a clip of 0.1: the warm steps move the outputs far
    past a target offset taken before them (review s40 F1, F3)."""

    def __init__(self, always: bool):
        g = np.random.RandomState(0)
        self.W1, self.b1 = g.randn(2, 6), np.zeros(6)
        self.W2, self.b2 = g.randn(6, 1), np.zeros(1)
        self.always = always

    def predict(self, X):
        return np.tanh(X @ self.W1 + self.b1) @ self.W2 + self.b2

    def step(self, X, y):
        h = np.tanh(X @ self.W1 + self.b1)
        d = 2 * (h @ self.W2 + self.b2 - y) / y.size
        dh = d @ self.W2.T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        norm = np.sqrt(sum(np.sum(v**2) for v in g.values()))
        if self.always or norm > 0.1:
            g = {k: v * 0.1 / (norm + 1e-6) for k, v in g.items()}
        for k, v in g.items():
            setattr(self, k, getattr(self, k) - 0.5 * v)


@pytest.mark.parametrize("always", [True, False])
def test_integer_targets_and_a_large_lr_are_probed_after_the_warm_steps(always):
    net = XorNet(always)
    Xx, Yx = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]]), np.array([[0], [1], [1], [0]])
    a = from_step(net, ["W1", "b1", "W2", "b2"], net.step, forward=net.predict, sizes=[2, 6, 1],
                  activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.5,
                  clip_grad_norm=0.1)  # fmt: skip
    res = check(a, Xx, Yx, steps=3, watch=0, probe=False)
    assert (res.codes() == ["clip_always_rescales"]) == always, res.render()
    assert res.code == ("implementation_bug" if always else "match"), res.render()
