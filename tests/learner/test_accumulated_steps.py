"""A step that accumulates its gradients over k calls and updates at every k-th (accumulation.py
is the other kind: buffers never reset): correct training where a program means it, which
the check's one update per call cannot judge. Refused with what it is and the wrapper that
checks it (review s25 E F7: ``step_did_not_update``). Both ways: the wrapper matches, and a
momentum applied one step late, which also leaves step 1 unmoved, is not read as this."""

import numpy as np
import pytest
from tanh_net import net, passes

from nnparity import check
from nnparity.reference.learner import LearnerError, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Accumulating:
    def __init__(self, k=2, how="mean", late=False):
        P, _, _ = net()
        self.W1, self.b1, self.W2, self.b2 = (p.copy() for p in P)
        self.k, self.how, self.late = k, how, late
        self.calls, self.acc, self.v, self.pending = 0, {}, {}, None

    def step(self, X, Y):
        h, do, dh = passes([self.W1, self.b1, self.W2, self.b2], X, Y)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ do, "b2": do.sum(0)}
        if self.late:  # the bug: the velocity of the previous call applied
            if self.pending is not None:
                for n, v in self.pending.items():
                    setattr(self, n, getattr(self, n) + v)
            self.pending = {n: 0.9 * self.v.get(n, 0.0) - 0.1 * d for n, d in g.items()}
            self.v = self.pending
            return
        self.calls += 1
        for n, d in g.items():
            self.acc[n] = self.acc.get(n, 0.0) + (d / self.k if self.how == "mean" else d)
        if self.calls % self.k == 0:
            for n, d in self.acc.items():
                self.v[n] = 0.9 * self.v.get(n, 0.0) - 0.1 * d
                setattr(self, n, getattr(self, n) + self.v[n])
            self.acc = {}


def _adapter(m, step):
    return from_step(m, NAMES, step, sizes=[4, 5, 3], activations="tanh,identity", loss="mse",
                     optimizer="sgd(momentum=0.9)", lr=0.1)  # fmt: skip


@pytest.mark.parametrize(("k", "how"), [(2, "mean"), (3, "sum")])
def test_accumulation_over_k_calls_is_refused_with_the_wrapper(k, how):
    _, X, Y = net()
    m = Accumulating(k, how)
    with pytest.raises(LearnerError) as e:
        check(_adapter(m, m.step), X, Y, steps=8, probe=False)
    said = str(e.value)
    nth = {2: "second", 3: "third"}[k]
    assert f"every {nth} call only" in said and f"range({k})" in said, said
    assert ("sum (a step" in said) == (how == "sum"), said


def test_the_wrapped_step_matches():
    _, X, Y = net()
    m = Accumulating(2, "mean")
    r = check(_adapter(m, lambda X, y: [m.step(X, y) for _ in range(2)]), X, Y, steps=6,
              probe=False)  # fmt: skip
    assert r.code == "match", r.render()


def test_momentum_applied_one_step_late_is_not_read_as_accumulation():
    _, X, Y = net()
    m = Accumulating(late=True)
    r = check(_adapter(m, m.step), X, Y, steps=8, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert np.isfinite(m.W1).all()
