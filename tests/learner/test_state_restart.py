"""An optimizer rebuilt now and then (Keras-style ``on_epoch_end`` making a new Adam, moments
zeroed every epoch): named with the steps it restarts at, from the learner's gradients or,
where its step hides them, from PyTorch's (review s42b F2: "no known adam variant", beside a
note about forward order); the same program without the restart matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Net:
    """3-6-2 tanh regression, mse; Adam or RMSprop written out; ``every``: the optimizer is
    rebuilt (state zeroed) after that many steps; ``keep_t``: Adam's count survives it;
    ``t_only``: only the count starts again, the moments kept (``t = i + 1`` of the epoch)."""

    def __init__(self, opt="adam", every=None, keep_t=False, t_only=False):
        r = np.random.RandomState(0)
        self.P = {"W1": 0.5 * r.randn(3, 6), "b1": 0.1 * r.randn(6), "W2": 0.5 * r.randn(6, 2),
                  "b2": np.zeros(2)}  # fmt: skip
        self.opt, self.every, self.keep_t, self.calls, self.t = opt, every, keep_t, 0, 0
        self.m, self.v, self.t_only = {}, {}, t_only

    def grads(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dz = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    def update(self, g):
        if self.every and self.calls and self.calls % self.every == 0:  # "on_epoch_end"
            self.m, self.v = ({}, {}) if not self.t_only else (self.m, self.v)
            self.t = self.t if self.keep_t else 0
        self.calls += 1
        self.t += 1
        for k, p in self.P.items():
            if self.opt == "adam":
                self.m[k] = 0.9 * self.m.get(k, 0.0) + 0.1 * g[k]
                self.v[k] = 0.999 * self.v.get(k, 0.0) + 0.001 * g[k] ** 2
                mh, vh = self.m[k] / (1 - 0.9**self.t), self.v[k] / (1 - 0.999**self.t)
                p -= 0.01 * mh / (np.sqrt(vh) + 1e-8)
            else:
                self.v[k] = 0.99 * self.v.get(k, 0.0) + 0.01 * g[k] ** 2
                p -= 0.01 * g[k] / (np.sqrt(self.v[k]) + 1e-8)

    def step(self, X, y):
        self.update(self.grads(X, y))


def _check(net, style):
    r = np.random.RandomState(1)
    X = r.randn(20, 3)
    y = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]
    kw = dict(sizes=[3, 6, 2], activations="tanh,identity", loss="mse", optimizer=net.opt,
              lr=0.01)  # fmt: skip
    if style == "step":
        a = from_step(net.P, NAMES, net.step, **kw)
    else:
        a = from_gradients(net.P, NAMES, net.grads, step=net.step, **kw)
    return check(a, X, y, steps=3, watch=40, probe=False)


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize(("opt", "keep_t"), [("adam", False), ("adam", True), ("rmsprop", False)])
def test_a_state_rebuilt_every_epoch_is_named_at_its_restart(style, opt, keep_t):
    r = _check(Net(opt, every=10, keep_t=keep_t), style)
    assert r.code == "implementation_bug" and r.findings[0].step == 11, r.render()
    f = r.findings[0]
    assert f.code == "optimizer_update_mismatch" and "starts again at step 11" in f.evidence, (
        r.render()
    )
    if opt == "adam":
        assert ("count kept" in f.evidence) == keep_t, r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_the_same_state_kept_matches(style, opt):
    r = _check(Net(opt), style)
    assert r.code == "match" and r.findings == (), r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_adams_count_alone_started_again_is_named_not_a_schedule(style):
    """Review s44 F3: t reset each epoch with m and v kept scales each step by the bias
    corrections alone; it was an lr_schedule with a declaration that did not match."""
    r = _check(Net("adam", every=10, t_only=True), style)
    f = r.findings[0]
    assert f.code == "optimizer_update_mismatch" and "moments kept" in f.evidence, r.render()
