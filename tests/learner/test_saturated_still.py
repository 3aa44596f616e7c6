"""A sigmoid classifier under a safe-log binary cross-entropy (the nnfs book's, clipped at
1e-7) on raw inputs of scale 100: one step saturates every output, after which its gradient
is below the weights' resolution and plain SGD moves nothing, as PyTorch's own BCELoss on
those outputs moves nothing (review s42a F1, F2: it was told ``step_did_not_update``, "update
the named arrays in place", or ``finite_difference_gradients`` for exact backprop; a ZeroDivision
in a cosine of 1e-77 gradients was an internal error). A step that truly does not update is
still named, saturated or not."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]


def _data(scale):
    r = np.random.RandomState(0)
    X = r.randn(40, 2)
    y = ((X**2).sum(1) < 1.2).astype(float).reshape(-1, 1)
    return X * scale + (100 if scale > 1 else 0), y


class Net:
    """2-16-1 relu, sigmoid; the nnfs book's BCE backward (clipped at 1e-7); ``stop``: the
    step after which the update is computed but never written back (the bug)."""

    def __init__(self, stop=None, w2=0.1, lr=0.1, decay=0.0):
        r = np.random.RandomState(0)
        self.P = {"W1": 0.1 * r.randn(2, 16), "b1": np.zeros((1, 16)),
                  "W2": w2 * r.randn(16, 1), "b2": np.zeros((1, 1))}  # fmt: skip
        self.stop, self.t, self.lr, self.decay = stop, 0, lr, decay

    def forward(self, X):
        P = self.P
        self.X, self.h = X, np.maximum(0, X @ P["W1"] + P["b1"])
        with np.errstate(over="ignore"):
            self.a = 1 / (1 + np.exp(-(self.h @ P["W2"] + P["b2"])))
        return self.a

    def grads(self, X, y):
        a, P = self.forward(X), self.P
        c = np.clip(a, 1e-7, 1 - 1e-7)
        loss = -np.mean(y * np.log(c) + (1 - y) * np.log(1 - c))
        dz = -(y / c - (1 - y) / (1 - c)) / len(y) * (1 - a) * a
        dh = dz @ P["W2"].T * (self.h > 0)
        return loss, {"W1": X.T @ dh, "b1": dh.sum(0, keepdims=True), "W2": self.h.T @ dz,
                      "b2": dz.sum(0, keepdims=True)}  # fmt: skip

    def step(self, X, y):
        _, g = self.grads(X, y)
        lr = self.lr / (1 + self.decay * self.t)
        self.t += 1
        for k in NAMES:
            new = self.P[k] - lr * g[k]
            if self.stop is None or self.t <= self.stop:
                self.P[k][...] = new


def _check(net, style, scale, steps=6):
    X, y = _data(scale)
    decl = dict(sizes=[2, 16, 1], activations="relu,sigmoid", loss="bce", optimizer="sgd",
                lr=net.lr, lr_decay=net.decay, forward=net.forward)  # fmt: skip
    if style == "step":
        a = from_step(net.P, NAMES, net.step, **decl)
    else:
        a = from_gradients(net.P, NAMES, net.grads, step=net.step, **decl)
    return check(a, X, y, steps=steps, probe=False)


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_a_correct_classifier_saturated_on_raw_inputs_matches(style):
    r = _check(Net(), style, 40)
    assert r.code == "match", r.render()
    said = [f.evidence for f in r.findings if f.code == "clip_convention"]
    assert any("PyTorch's own bce" in e for e in said), r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize(("stop", "scale"), [(0, 40), (1, 1), (0, 1)])
def test_a_step_that_writes_nothing_back_is_still_named(style, stop, scale):
    """From step 1 on raw inputs (not saturated yet), or after step 1 on unit-scale ones: the
    declared SGD moves the weights there, PyTorch's BCELoss too."""
    r = _check(Net(stop=stop), style, scale)
    assert r.code == "implementation_bug", r.render()
    assert "clip_convention" not in r.codes(), r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_outputs_saturating_step_by_step_are_no_numerical_gradients(style):
    """W2 sixty times its scale, lr 1 decayed: more outputs saturate at each step while the
    rest still train; the declared loss (PyTorch's BCELoss, its log clamped) is flat along the
    saturated samples, so its finite differences fit the clipped backprop there and part
    from the exact gradient by more than any truncation error: no numerical gradients."""
    r = _check(Net(w2=6.0, lr=1.0, decay=1e-2), style, 1, steps=10)
    assert r.code == "match" and "finite_difference_gradients" not in r.codes(), r.render()


def test_a_safe_log_with_eps_added_whose_gradients_turn_exactly_zero_matches():
    """Review s42a: -mean(y log(a + 1e-15) + ...) chained through a (1 - a), handed as
    gradients: at raw inputs every a rounds to 0 or 1, its gradients are exact zeros and its
    loss value -log(1e-15)-sized where PyTorch's is the logits' hundreds."""

    class Blog(Net):
        def grads(self, X, y):
            a, P = self.forward(X), self.P
            loss = -np.mean(y * np.log(a + 1e-15) + (1 - y) * np.log(1 - a + 1e-15))
            dz = -(y / (a + 1e-15) - (1 - y) / (1 - a + 1e-15)) / len(y) * a * (1 - a)
            dh = dz @ P["W2"].T * (self.h > 0)
            return loss, {"W1": X.T @ dh, "b1": dh.sum(0, keepdims=True),
                          "W2": self.h.T @ dz, "b2": dz.sum(0, keepdims=True)}  # fmt: skip

    X, y = _data(40)
    net = Blog(w2=1.0)
    a = from_gradients(net.P, NAMES, net.grads, sizes=[2, 16, 1], activations="relu,sigmoid",
                       loss="bce", optimizer="sgd", lr=1.0, forward=net.forward)  # fmt: skip
    r = check(a, X, y, steps=10, probe=False)
    assert r.code == "match" and "clip_convention" in r.codes(), r.render()


@pytest.mark.parametrize("opt", ["sgd", "sgd(momentum=0.9)", "adam(lr=0.1)"])
@pytest.mark.parametrize("stop", [None, 0])
def test_saturated_from_step_1_no_step_can_tell_and_none_is_called_a_match(opt, stop):
    """Review s44 F1, F2: every output saturated before the first step (biases of 0.5 on raw
    inputs): a step that never writes back passed as a match beside the correct one, and the
    correct one under momentum or Adam was step_did_not_update. Neither can be told: refused."""
    from nnparity.reference.learner import LearnerError

    net = Net(stop=stop, w2=1.0)
    net.P["W1"] *= 10
    net.P["b1"][...] = net.P["b2"][...] = 0.5
    X, y = _data(40)
    a = from_step(net.P, NAMES, net.step, sizes=[2, 16, 1], activations="relu,sigmoid",
                  loss="bce", optimizer=opt, lr=0.1, forward=net.forward)  # fmt: skip
    with pytest.raises(LearnerError, match="no verdict: from step 1"):
        check(a, X, y, steps=6, probe=False)


def test_momentum_saturated_after_step_1_behind_a_hidden_step_matches():
    """Review s48 F1: momentum on raw inputs, every output saturated after step 1: the velocity
    moves the weights on while the safe log's gradient is ~0; read as the declared momentum fed
    with the clipped gradients (a note), not an lr_schedule of multipliers 1, -8e-19, ..."""

    class Mom(Net):
        def step(self, X, y):
            _, g = self.grads(X, y)
            self.V = getattr(self, "V", {k: np.zeros_like(v) for k, v in self.P.items()})
            for k in NAMES:
                self.V[k] = 0.9 * self.V[k] - self.lr * g[k]
                self.P[k] += self.V[k]

    X, y = _data(40)
    net = Mom(lr=0.1)
    a = from_step(net.P, NAMES, net.step, sizes=[2, 16, 1], activations="relu,sigmoid",
                  loss="bce", optimizer="sgd(momentum=0.9)", lr=0.1,
                  forward=net.forward)  # fmt: skip
    r = check(a, X, y, steps=6, probe=False)
    assert r.code == "match" and "clip_convention" in r.codes(), r.render()
