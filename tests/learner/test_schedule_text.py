"""The lr multipliers of an ``lr_schedule`` are said with the steps each run of them covers
(review s12: "1 at steps 1-557, then 1.0016 at steps 1-558" where the change was at 558)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_step


def _net(r):
    return {"W1": r.randn(3, 5) * 0.5, "b1": np.zeros(5), "W2": r.randn(5, 1) * 0.5,
            "b2": np.zeros(1)}  # fmt: skip


def _step(P, lr_at):
    t = [0]

    def step(X, Y):
        t[0] += 1
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - Y) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        for k in P:
            P[k] -= lr_at(t[0]) * g[k]

    return step


def test_a_schedule_off_the_declared_lr_from_step_1_is_said_at_step_1():
    """Review s20a, t33: the finding said "step 2" (where the multiplier first changed) beside
    a multiplier of 0.1254 at step 1."""
    r = np.random.RandomState(0)
    P = _net(r)
    X, Y = r.randn(16, 3), r.randn(16, 1)
    a = from_step(P, list(P), _step(P, lambda t: 0.1 * 0.5**t), sizes=[3, 5, 1],
                  activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1)  # fmt: skip
    res = check(a, X, Y, steps=4, probe=False)
    f = res.findings[0]
    assert f.code == "lr_schedule" and "times 0.5, 0.25" in f.evidence, res.render()
    assert f.step == 1, res.render()


def test_a_change_after_a_run_of_one_multiplier_is_said_at_its_own_steps():
    r = np.random.RandomState(0)
    P = _net(r)
    X, Y = r.randn(16, 3), r.randn(16, 1)
    step = _step(P, lambda t: 0.1 * (1.5 if t >= 5 else 1.0))  # a change at step 5
    a = from_step(P, list(P), step, sizes=[3, 5, 1], activations="tanh,identity", loss="mse",
                  optimizer="sgd", lr=0.1)  # fmt: skip
    res = check(a, X, Y, steps=3, watch=6, probe=False)
    assert res.codes() == ["lr_schedule"], res.render()
    ev = res.findings[0].evidence
    assert "times 1 at steps 1-4, then 1.5 at step 5 (lr x 1.5 from step 5: one rise seen" in ev, ev
    assert res.findings[0].step == 5, res.render()  # the declared lr until then
