"""Bugs the learner's own weights hide (review s51 F1, F2): with every weight 0, or every ReLU
dead, a hidden layer's gradient is 0 at every step and a sign flip, a doubled term or a missing
``@ W2.T`` there agreed for 300 steps. At fresh weights they part: a sign flip or a factor on a
whole parameter is a bug, under a hidden Adam step too (was a match with no word); anything
else there is a note, which correct programs with state or a constraint beside their weights
also give (review s53: heavy-ball's previous weights, a transposed W kept in step by the
update, a max-norm that binds only at fresh weights). Correct programs stay a match."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Net:
    """3-6-2 tanh, mse; ``init`` "zero" (every weight 0) or "dead" (relu, b1 = -20); ``keep``
    "heavy" (w - lr g + mu (w - w_prev), w_prev kept), "w2t" (W2.T kept, stepped alike) or
    "maxnorm" (each unit's incoming weights rescaled to a norm of 0.5 at most)."""

    def __init__(
        self, init: str, bug: str = "", adam: bool = False, copy: bool = False, keep: str = ""
    ):
        r = np.random.RandomState(0)
        self.act = "relu" if init == "dead" else "tanh"
        self.W1 = np.zeros((3, 6)) if init == "zero" else r.randn(3, 6)
        self.b1 = np.full(6, -20.0) if init == "dead" else np.zeros(6)
        self.W2 = np.zeros((6, 2)) if init == "zero" else r.randn(6, 2)
        self.b2 = np.zeros(2)
        self.bug, self.adam, self.t = bug, adam, 0
        self.m = {k: np.zeros_like(getattr(self, k)) for k in NAMES}
        self.v = {k: np.zeros_like(getattr(self, k)) for k in NAMES}
        self.W2T = self.W2.T.copy() if copy or keep == "w2t" else None  # re-synced by the update
        self.keep = keep
        self.prev = {k: getattr(self, k).copy() for k in NAMES} if keep == "heavy" else {}

    def grads(self, X, y):
        z = X @ self.W1 + self.b1
        h = np.tanh(z) if self.act == "tanh" else np.maximum(z, 0)
        d = 2 * (h @ self.W2 + self.b2 - y) / y.size
        prime = 1 - h**2 if self.act == "tanh" else (z > 0) * 1.0
        back = d @ (self.W2T if self.W2T is not None else self.W2.T)
        if self.bug == "oneminus":  # tanh' written 1 - a: a positive factor 1/(1 + a) each
            prime = 1 - h
        dz = {"sign": -back * prime, "double": 2 * back * prime}.get(self.bug, back * prime)
        if self.bug == "noW2T":
            dz = d.sum(1, keepdims=True) * prime
        self.grads_W2 = h.T @ d
        return {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    def step(self, X, y):
        self.t += 1
        for k, g in self.grads(X, y).items():
            w = getattr(self, k)
            if self.keep == "heavy":  # Polyak's heavy ball: PyTorch's momentum 0.9
                w_prev, self.prev[k] = self.prev[k], w.copy()
                w += -0.1 * g + 0.9 * (w - w_prev)
            elif self.adam:
                self.m[k] = 0.9 * self.m[k] + 0.1 * g
                self.v[k] = 0.999 * self.v[k] + 0.001 * g * g
                mh, vh = self.m[k] / (1 - 0.9**self.t), self.v[k] / (1 - 0.999**self.t)
                getattr(self, k)[...] -= 0.01 * mh / (np.sqrt(vh) + 1e-8)
            else:
                getattr(self, k)[...] -= 0.1 * g
        if self.keep == "w2t":  # stepped beside W2, never copied again
            self.W2T -= 0.1 * self.grads_W2.T
        elif self.W2T is not None:
            self.W2T = self.W2.T.copy()
        if self.keep == "maxnorm":
            self.W1 *= np.minimum(1.0, 0.5 / np.maximum(np.linalg.norm(self.W1, axis=0), 1e-12))


def _data():
    r = np.random.RandomState(1)
    X = r.randn(12, 3)
    return X, np.stack([X[:, 0] - X[:, 1], X[:, 2]], axis=1)


def _check(net: Net, style: str):
    decl = dict(sizes=[3, 6, 2], activations=f"{net.act},identity", loss="mse")
    opt = dict(optimizer="adam", lr=0.01) if net.adam else dict(optimizer="sgd", lr=0.1)
    if net.keep == "heavy":
        opt = dict(optimizer="sgd(momentum=0.9)", lr=0.1)
    if style == "step":
        a = from_step(net, NAMES, net.step, **opt, **decl)
    elif style == "both":  # gradients exposed, the learner's own update held too
        a = from_gradients(net, NAMES, net.grads, step=net.step, **opt, **decl)
    else:
        a = from_gradients(net, NAMES, net.grads, **opt, **decl)
    return check(a, *_data(), steps=3, watch=20, probe=False)


@pytest.mark.parametrize("init", ["zero", "dead"])
@pytest.mark.parametrize("style", ["gradients", "step"])
@pytest.mark.parametrize("bug, code", [("sign", "sign_flip"), ("double", "scale_factor")])
def test_a_factor_the_learners_weights_hide_is_named_at_fresh_weights(init, style, bug, code):
    r = _check(Net(init, bug), style)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == code and "W1" in f.params and "at fresh weights" in f.evidence, r.render()


def _noted(r, said: str) -> None:
    assert r.code == "match", r.render()
    notes = [f for f in r.findings if f.code == "fresh_weights_mismatch"]
    assert notes and said in notes[0].evidence, r.render()


def test_a_missing_transpose_the_weights_hide_is_said_not_judged():
    """No sign or factor names it: state or a constraint beside the weights parts alike."""
    _noted(_check(Net("dead", "noW2T"), "gradients"), "no sign or factor names it")


@pytest.mark.parametrize("keep", ["heavy", "w2t"])
def test_a_copy_of_a_weight_kept_beside_it_takes_the_fresh_weights_too(keep):
    """Review s53 F1, F2: heavy-ball's previous weights, a transposed W stepped beside W2 (was
    an implementation_bug at fresh weights): the fresh weights are written into the copy as
    well, so nothing parts."""
    r = _check(Net("dead", keep=keep), "both")
    assert r.code == "match", r.render()
    if keep == "w2t":  # (heavy-ball's copies of the constant biases, b1 = -20 and b2 = 0,
        assert "fresh_weights_mismatch" not in r.codes(), r.render()  # are no copies by
    # their values: a zero array is every zero buffer's twin; they stay stale, a note)


def test_an_unused_copy_does_not_excuse_a_bug():
    """Review s56 F1: an initial copy kept for a reset, never read, switched the rule off."""
    net = Net("dead", "sign")
    net.kept = {k: getattr(net, k).copy() for k in NAMES}
    r = _check(net, "gradients")
    assert r.code == "implementation_bug" and r.findings[0].code == "sign_flip", r.render()


def test_a_constraint_that_binds_at_fresh_weights_alone_is_a_note():
    """Review s53 F3: a max-norm binding only at fresh weights was an implementation_bug."""
    _noted(_check(Net("zero", keep="maxnorm"), "step"), "a max-norm")


def test_a_factor_on_parameters_that_agreed_alive_is_no_bug():
    """Review s56 F3: gradients divided by the norm of the starting W1 (1 at the learner's,
    not at fresh weights): a factor on W2 too, whose live gradient agreed for every step."""
    net = Net("dead")
    net.W1 /= np.linalg.norm(net.W1)  # the learner's own W1 has norm 1: no factor there
    net.norm = None  # taken at the first call, from the weights then (state before step 1)
    plain = net.grads

    def grads(X, y):
        if net.norm is None:
            net.norm = float(np.linalg.norm(net.W1))
        return {k: g / net.norm for k, g in plain(X, y).items()}

    net.grads = grads
    r = _check(net, "gradients")
    assert r.code == "match", r.render()


def test_behind_a_hidden_adam_step_too():
    """Was a match with no note."""
    r = _check(Net("zero", "sign", adam=True), "step")
    assert r.code == "implementation_bug", r.render()
    assert "at fresh weights" in r.findings[0].evidence, r.render()


def test_a_factor_per_element_behind_a_hidden_adam_step_is_said():
    """tanh' as 1 - a, a positive factor per element, shows at step 2 and through eps: no
    whole-parameter factor, so a note."""
    _noted(_check(Net("zero", "oneminus", adam=True), "step"), "no sign or factor names it")


def test_a_constant_factor_behind_a_hidden_adam_step_stays_the_said_blind_spot():
    """Adam steps alike for c g and g (c > 0) but for eps: a doubled hidden-layer term is
    unseen at fresh weights too, and the match says so."""
    r = _check(Net("zero", "double", adam=True), "step")
    assert r.code == "match", r.render()
    assert "gradient_scale_unseen" in [f.code for f in r.unchecked], r.render()


@pytest.mark.parametrize("init", ["zero", "dead"])
@pytest.mark.parametrize("style", ["gradients", "step"])
@pytest.mark.parametrize("adam", [False, True])
def test_correct_programs_stay_a_match(init, style, adam):
    r = _check(Net(init, adam=adam), style)
    assert r.code == "match", r.render()
    assert not [f for f in r.findings if f.code == "fresh_weights_mismatch"], r.render()


@pytest.mark.parametrize("init", ["zero", "dead"])
def test_a_copy_of_w_the_update_resyncs_is_no_bug(init):
    """Written with the fresh weights it agrees; a copy of zeros is no copy by its values,
    stale for the first fresh step alone: a note, no bug."""
    r = _check(Net(init, copy=True), "step")
    assert r.code == "match", r.render()
    said = [f.code for f in r.findings]
    assert said == (["fresh_weights_mismatch"] if init == "zero" else []), r.render()


def _descent_dead(bug: str):
    """Delta-rule code (its gradients are -dL/dW, its update adds them) whose ReLUs are all
    dead at the start (b1 = -3), W1's line with a slip of its own (review s60a F1)."""
    from nnparity.reference.learner import from_gradients

    r = np.random.RandomState(3)
    P = {"W1": r.randn(2, 6) * 0.3, "b1": np.full(6, -3.0), "W2": r.randn(6, 1) * 0.3,
         "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        z1 = X @ P["W1"] + P["b1"]
        h = np.maximum(0, z1)
        err = (y - (h @ P["W2"] + P["b2"])) / len(X)  # points downhill
        dh = err @ P["W2"].T * (z1 > 0)
        dW1 = {"": X.T @ dh, "sign": -(X.T @ dh), "n": X.T @ dh / len(X)}[bug]
        return {"W1": dW1, "b1": dh.sum(0), "W2": h.T @ err, "b2": err.sum(0)}

    def step(X, y):
        for k, g in grads(X, y).items():
            P[k] += 0.1 * g

    return from_gradients(P, list(P), grads, step=step, sizes=[2, 6, 1],
                          activations="relu,identity", loss="half_sse", lr=0.1)  # fmt: skip


@pytest.mark.parametrize(
    ("bug", "code"), [("", None), ("sign", "sign_flip"), ("n", "scale_factor")]
)
def test_a_slip_behind_dead_units_and_the_descent_convention_is_named(bug, code):
    """The run again with the gradients taken as -dL/dW (descent.py) agrees; its steps at fresh
    weights, every parameter in that convention, name W1's slip."""
    rng = np.random.RandomState(0)
    X = rng.randn(32, 2)
    y = np.sin(X[:, :1]) + 0.5 * X[:, 1:]
    r = check(_descent_dead(bug), X, y, steps=3, probe=False)
    assert "descent_direction" in r.codes(), r.render()
    if code is None:
        assert r.code == "match", r.render()
        return
    assert (r.code, r.findings[0].code, r.findings[0].params) == (
        "implementation_bug", code, ("W1",)), r.render()  # fmt: skip
