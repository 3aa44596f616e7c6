"""A learning-rate schedule under momentum, any schedule (review s15b: an exponential decay
and a staircase under hand-written momentum were unexplained, with a misleading note): one
multiplier per step read off the learner's own displacements, in either velocity form, named
only where one form takes every step of every parameter."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

NAMES = ["W1", "b1", "W2", "b2"]
MU, LR = 0.9, 0.05


class Mom:
    """3-6-2 tanh regression, mse, momentum; ``form``: 'keras' (v = mu v - lr_t g, w += v)
    or 'torch' (b = mu b + g, w -= lr_t b); ``sched``: the lr multiplier of step t (from 1);
    ``w1``: W1's own lr multiplier (one parameter off: no schedule)."""

    def __init__(self, form, sched, w1=1.0):
        r = np.random.RandomState(0)
        self.P = {"W1": 0.5 * r.randn(3, 6), "b1": 0.1 * r.randn(6), "W2": 0.5 * r.randn(6, 2),
                  "b2": np.zeros(2)}  # fmt: skip
        self.V = {k: np.zeros_like(v) for k, v in self.P.items()}
        self.form, self.sched, self.w1, self.t = form, sched, w1, 0

    def step(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dz = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        self.t += 1
        for k in NAMES:
            lr = LR * self.sched(self.t) * (self.w1 if k == "W1" else 1.0)
            if self.form == "keras":
                self.V[k] = MU * self.V[k] - lr * g[k]
                P[k] += self.V[k]
            else:
                self.V[k] = MU * self.V[k] + g[k]
                P[k] -= lr * self.V[k]


def _check(net):
    r = np.random.RandomState(1)
    X = r.randn(20, 3)
    y = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]
    a = from_step(net.P, NAMES, net.step, sizes=[3, 6, 2], activations="tanh,identity",
                  loss="mse", optimizer=f"sgd(momentum={MU})", lr=LR)  # fmt: skip
    return check(a, X, y, steps=8, probe=False)


# PyTorch's form: its steps are the declared ones times s_t (its state holds no lr), read as
# for any optimizer; Keras's: read off the displacements, and said
SAID = {"keras": "the velocity holding each step's lr", "torch": "every parameter takes"}


@pytest.mark.parametrize("form", ["keras", "torch"])
def test_a_constant_lr_in_either_form_matches(form):
    r = _check(Mom(form, lambda t: 1.0))
    assert r.code == "match" and r.findings == (), r.render()


@pytest.mark.parametrize("form", ["keras", "torch"])
@pytest.mark.parametrize(
    "sched,said",
    [
        (lambda t: 0.9 ** (t - 1), "0.9^(t-1): an exponential decay"),
        (lambda t: 1.0 if t < 5 else 0.5, "1 at steps 1-4, then 0.5"),
    ],
    ids=["exponential", "staircase"],
)
def test_a_schedule_under_momentum_is_named_with_its_form(form, sched, said):
    r = _check(Mom(form, sched))
    assert r.code == "implementation_bug" and r.codes() == ["lr_schedule"], r.render()
    f = r.findings[0]
    assert said in f.evidence and SAID[form] in f.evidence, f.evidence
    assert f"momentum={MU}" in f.evidence, f.evidence  # the optimizer said whole (s15c)


def test_one_parameter_with_its_own_lr_is_no_schedule():
    r = _check(Mom("keras", lambda t: 0.9 ** (t - 1), w1=2.0))
    assert r.code == "implementation_bug", r.render()
    assert "lr_schedule" not in r.codes(), r.render()


def test_a_short_batchs_own_factor_under_momentum_is_no_schedule():
    """Review s48 F4: dz = (a - y) / B where len(batch) belongs, behind a hidden momentum step,
    35 rows in batches of 10: read as an lr_schedule "times 1, ..., 0.5" (the short batches'
    own factor); it is the short batch's scale."""
    r = np.random.RandomState(3)
    P = {"W1": 0.5 * r.randn(2, 8), "b1": 0.1 * r.randn(8), "W2": 0.5 * r.randn(8, 1),
         "b2": 0.1 * r.randn(1)}  # fmt: skip
    V = {k: np.zeros_like(v) for k, v in P.items()}

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        d2 = (a - y) / 10  # the full batch's size, whatever this batch's
        d1 = d2 @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ d1, "b1": d1.sum(0), "W2": h.T @ d2, "b2": d2.sum(0)}
        for k in P:
            V[k] = 0.9 * V[k] - 0.05 * g[k]
            P[k] += V[k]

    X = np.random.RandomState(4).randn(35, 2)
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    a = from_step(P, NAMES, step, sizes=[2, 8, 1], activations="tanh,sigmoid", loss="bce",
                  optimizer="sgd(momentum=0.9)", lr=0.05, batch_size=10)  # fmt: skip
    res = check(a, X, y, steps=10, probe=False)
    assert res.code == "implementation_bug" and "lr_schedule" not in res.codes(), res.render()


class Hair:
    """Review s51 F4's program: 3-5-1 tanh/sigmoid under BCE, Keras's momentum, batches of 4
    from 18 rows, dW1 times ``fac``."""

    def __init__(self, fac):
        rng = np.random.RandomState(0)
        self.P = {"W1": rng.randn(3, 5) * 0.7, "b1": np.zeros(5), "W2": rng.randn(5, 1) * 0.5,
                  "b2": np.zeros(1)}  # fmt: skip
        self.vel = dict.fromkeys(self.P, 0.0)
        self.fac = fac

    def step(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        p = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        d2 = (p - y) / len(X)
        dh = d2 @ P["W2"].T * (1 - h**2)
        g = {"W2": h.T @ d2, "b2": d2.sum(0), "W1": X.T @ dh * self.fac, "b1": dh.sum(0)}
        for k, gk in g.items():
            self.vel[k] = 0.9 * self.vel[k] - 0.05 * gk
            P[k] += self.vel[k]


def test_one_parameter_a_hair_off_is_no_schedule_on_every_parameter():
    """Review s51 F4: dW1 times 1.00001 pulled every step's fitted multiplier to 1 + ~1e-6,
    read as a schedule 'every parameter takes'."""
    rng = np.random.RandomState(2)
    X = rng.randn(18, 3)
    y = (X[:, :1] * X[:, 1:2] > 0).astype(float)
    for fac, code in ((1.0, "match"), (1.00001, "implementation_bug")):
        net = Hair(fac)
        a = from_step(net.P, NAMES, net.step, sizes=[3, 5, 1], activations="tanh,sigmoid",
                      loss="bce", optimizer="sgd(momentum=0.9)", lr=0.05, batch_size=4)  # fmt: skip
        r = check(a, X, y, steps=10, probe=False)
        assert r.code == code, r.render()
    assert "lr_schedule" not in r.codes() and r.findings[0].params == ("W1",), r.render()
