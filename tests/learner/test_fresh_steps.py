"""Steps at fresh weights (review s14): inputs in [0, 1] and weights from ``rand`` keep every
z above 0 for hundreds of steps, so a slip in a derivative's branch below 0 matched at the
default watch (elu'(z) written as elu(z), the + alpha left out; leaky_relu' as (z > 0)). Once
everything agrees, two steps run again from the learner's state before step 1 at scratch's
initialisation, and a named bug there is said. Correct programs stay a match, also with
momentum (the state before step 1 is put back) and with a copy of a weight kept beside it."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]


def _act(kind: str, z: np.ndarray) -> np.ndarray:
    if kind == "elu":
        return np.where(z > 0, z, np.exp(np.minimum(z, 0)) - 1)
    return np.where(z > 0, z, 0.01 * z)


def _prime(kind: str, z: np.ndarray, bug: bool) -> np.ndarray:
    if kind == "elu":  # elu'(z) = elu(z) + 1 below 0; the slip leaves out the + 1
        return np.where(z > 0, 1.0, _act("elu", z) + (0.0 if bug else 1.0))
    return (z > 0) * 1.0 if bug else np.where(z > 0, 1.0, 0.01)


class Net:
    def __init__(self, kind: str, bug: bool, momentum: float = 0.0, copy: bool = False):
        r = np.random.RandomState(0)
        self.W1, self.b1 = 0.5 * r.rand(4, 6), 0.1 * np.ones(6)
        self.W2, self.b2 = 0.5 * r.rand(6, 1), np.zeros(1)
        self.kind, self.bug, self.mu = kind, bug, momentum
        self.v = {k: np.zeros_like(getattr(self, k)) for k in NAMES}
        self.W2T = self.W2.T.copy() if copy else None  # kept beside W2, re-synced by the update

    def grads(self, X, y):
        z = X @ self.W1 + self.b1
        h = _act(self.kind, z)
        d = 2 * (h @ self.W2 + self.b2 - y) / y.size
        back = self.W2T if self.W2T is not None else self.W2.T
        dz = d @ back * _prime(self.kind, z, self.bug)
        return {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    def step(self, X, y):
        for k, g in self.grads(X, y).items():
            self.v[k] = self.mu * self.v[k] + g
            getattr(self, k)[...] -= 0.001 * self.v[k]
        if self.W2T is not None:
            self.W2T = self.W2.T.copy()


def _data():
    r = np.random.RandomState(1)
    X = r.rand(40, 4)
    return X, (X[:, :1] - X[:, 1:2]) * 2.0 - 0.3


def _adapter(net: Net, style: str):
    opt = f"sgd(momentum={net.mu})" if net.mu else "sgd"
    decl = dict(sizes=[4, 6, 1], activations=f"{net.kind},identity", loss="mse", lr=0.001)
    if style == "step":
        return from_step(net, NAMES, net.step, optimizer=opt, **decl)
    return from_gradients(net, NAMES, net.grads, optimizer=opt, **decl)


def test_the_data_never_reach_the_branch():
    net, (X, _) = Net("elu", False), _data()
    assert ((X @ net.W1 + net.b1) > 0).all()


@pytest.mark.parametrize("style", ["gradients", "step"])
@pytest.mark.parametrize("kind", ["elu", "leaky_relu"])
def test_a_slip_below_the_kink_is_named_at_fresh_weights(kind, style):
    net = Net(kind, True, momentum=0.9 if style == "step" else 0.0)
    r = check(_adapter(net, style), *_data(), steps=3, watch=50, probe=False)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "wrong_activation_derivative" and "at fresh weights" in f.evidence, r.render()
    assert "W1" in f.params, r.render()


def test_the_elu_slip_is_said_by_its_branch():
    r = check(_adapter(Net("elu", True), "gradients"), *_data(), steps=3, watch=50, probe=False)
    assert "a for z <= 0 in place of elu'(z)" in r.findings[0].evidence, r.render()


@pytest.mark.parametrize("style", ["gradients", "step"])
@pytest.mark.parametrize("kind", ["elu", "leaky_relu"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_correct_programs_stay_a_match(kind, style, momentum):
    net = Net(kind, False, momentum=momentum)
    r = check(_adapter(net, style), *_data(), steps=3, watch=50, probe=False)
    assert r.code == "match", r.render()


def test_a_weight_copy_the_update_resyncs_is_no_finding_at_fresh_weights():
    """The copy of W2 is written with the fresh weights too (an array equal to W2's
    transpose): nothing parts, no note, never a bug."""
    net = Net("elu", False, momentum=0.9, copy=True)
    r = check(_adapter(net, "step"), *_data(), steps=3, watch=50, probe=False)
    assert r.code == "match" and "fresh_weights_mismatch" not in r.codes(), r.render()


def test_the_learner_is_left_as_it_was_handed_over():
    net = Net("elu", True, momentum=0.9)
    before = {k: getattr(net, k).copy() for k in NAMES}
    check(_adapter(net, "step"), *_data(), steps=3, watch=50, probe=False)
    for k in NAMES:
        np.testing.assert_array_equal(getattr(net, k), before[k], err_msg=k)


class Leaky(Net):
    """leaky_relu with its derivative below 0 written wrong: another slope, its sign, or z."""

    def __init__(self, slip: str):
        super().__init__("leaky_relu", False)
        self.slip = slip

    def grads(self, X, y):
        z = X @ self.W1 + self.b1
        h = _act("leaky_relu", z)
        d = 2 * (h @ self.W2 + self.b2 - y) / y.size
        below = {"slope": 0.1, "sign": -0.01, "z": 0.01 * z}[self.slip]
        dz = d @ self.W2.T * np.where(z > 0, 1.0, below)
        return {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}


@pytest.mark.parametrize(
    "slip, said", [("slope", "0.1 for z <= 0"), ("sign", "-0.01 for z <= 0"), ("z", "a for z <= 0")]
)
def test_a_constant_or_linear_slip_below_the_kink_is_fitted_on_its_side(slip, said):
    """Review s14b: at leaky's 0.01 below 0, a fit 0.02 away was taken for the true
    derivative (an absolute margin), and a snapped fit near relu' ended the search."""
    r = check(_adapter(Leaky(slip), "gradients"), *_data(), steps=3, watch=50, probe=False)
    assert r.codes() == ["wrong_activation_derivative"], r.render()
    assert f"with {said} in place of leaky_relu'(z)" in r.findings[0].evidence, r.render()


class LazyMomentum(Net):
    """nnfs's SGD with momentum: ``if not hasattr(layer, 'weight_momentums')`` makes the state
    on the first step (review s14c: kept across the restore, step 300's momentum reached the
    fresh steps and a correct program got a note)."""

    def __init__(self):
        super().__init__("elu", False, momentum=0.9)
        del self.v

    def step(self, X, y):
        if not hasattr(self, "momentums"):
            self.momentums = {k: np.zeros_like(getattr(self, k)) for k in NAMES}
        for k, g in self.grads(X, y).items():
            self.momentums[k] = 0.9 * self.momentums[k] + g
            getattr(self, k)[...] -= 0.001 * self.momentums[k]


def test_state_made_on_the_first_step_is_not_there_before_it():
    r = check(_adapter(LazyMomentum(), "step"), *_data(), steps=3, watch=50, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


def test_restore_takes_away_what_was_made_after_the_snapshot_and_puts_back_what_went():
    from nnparity.reference.learner.keep import restore, snapshot

    class Layer:
        pass

    layer, state = Layer(), {"t": 0}
    layer.W = np.ones(2)
    kept = snapshot(layer, state)
    layer.momentum, state["m"] = np.zeros(2), 1.0
    del layer.W
    restore(kept)
    assert not hasattr(layer, "momentum") and "m" not in state
    np.testing.assert_array_equal(layer.W, np.ones(2))
