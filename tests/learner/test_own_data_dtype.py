"""The learner's steps get its data in the dtype it gave (review s14): float16 data were handed
over as float64, so an all-float16 program ran its arithmetic in float64 and its float16
overflow never happened in the check (Adam with eps = 1e-8, which rounds to 0 in float16,
divides by zero at step 1 of the program's own run: it was a match)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Net:
    def __init__(self, wdt: str, eps: float = 1e-8):
        r = np.random.RandomState(0)
        self.W1, self.b1 = r.randn(3, 8).astype(wdt), r.randn(8).astype(wdt)
        self.W2, self.b2 = (r.randn(8, 1) / np.sqrt(8)).astype(wdt), r.randn(1).astype(wdt)
        self.m = {k: np.zeros_like(getattr(self, k)) for k in NAMES}
        self.v = {k: np.zeros_like(getattr(self, k)) for k in NAMES}
        self.t, self.eps, self.seen = 0, eps, set()

    def step(self, X, y):
        self.seen.add((X.dtype.name, y.dtype.name))
        h = np.tanh(X @ self.W1 + self.b1)
        d = 2 * (h @ self.W2 + self.b2 - y) / y.size
        dh = d @ self.W2.T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        self.t += 1
        for k in NAMES:
            self.m[k] = 0.9 * self.m[k] + 0.1 * g[k]
            self.v[k] = 0.999 * self.v[k] + 0.001 * g[k] * g[k]
            mh, vh = self.m[k] / (1 - 0.9**self.t), self.v[k] / (1 - 0.999**self.t)
            getattr(self, k)[...] -= 1e-3 * mh / (np.sqrt(vh) + self.eps)


def _data(dt: str):
    r = np.random.RandomState(1)
    X = r.randn(32, 3)
    return X.astype(dt), np.sin(X @ r.randn(3, 1)).astype(dt)


DECL = dict(sizes=[3, 8, 1], activations="tanh,identity", loss="mse", optimizer="adam", lr=1e-3)


@pytest.mark.parametrize(
    "wdt, ddt", [("float16", "float16"), ("float32", "float64"), ("float64", "float32")]
)
def test_the_steps_get_the_data_in_its_own_dtype(wdt, ddt):
    net = Net(wdt, eps=1e-3)
    check(from_step(net, NAMES, net.step, **DECL), *_data(ddt), steps=2, watch=0, probe=False)
    assert net.seen == {(ddt, ddt)}


def test_float16_adam_whose_eps_rounds_to_zero_is_no_match():
    net = Net("float16")
    r = check(from_step(net, NAMES, net.step, **DECL), *_data("float16"), steps=3, probe=False)
    assert r.code != "match", r.render()
    assert r.findings[0].code == "nonfinite" and "W1" in r.findings[0].params, r.render()


def test_float16_adam_with_an_eps_float16_holds_still_matches():
    net = Net("float16", eps=1e-3)
    declared = dict(DECL, optimizer="adam(eps=0.001)")
    r = check(from_step(net, NAMES, net.step, **declared), *_data("float16"), steps=3,
              probe=False)  # fmt: skip
    assert r.code == "match", r.render()
