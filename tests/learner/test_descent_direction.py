"""Delta-rule code (review s15b): ``error = y - o`` hands back -dL/dW, ``W += lr * delta``
adds it. Each half alone is a sign flip; the pair is PyTorch's step. Checked through
``from_gradients(..., step=)`` it was two ``sign_flip`` findings whose second fix ("w -= lr *
step") would make it climb the loss. The pair is a note beside a match once the check, run
again with the gradients taken as -dL/dW, holds every step it watches; one half alone, or a
departure later in the run, stays a bug."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


class Delta:
    """3-5-1 sigmoid net, 1/2 (y - o)^2 averaged over the batch; ``sign`` of the update
    (+1: w += lr d, the pair is right), ``late``: from that step on the update takes 1.5 lr."""

    def __init__(self, sign: float = 1.0, late: int = 0, opt: str = "sgd", bug: str = ""):
        r = np.random.RandomState(8)
        self.W1, self.b1 = r.uniform(-1, 1, (3, 5)), np.zeros(5)
        self.W2, self.b2 = r.uniform(-1, 1, (5, 1)), np.zeros(1)
        self.sign, self.late, self.t, self.opt, self.S = sign, late, 0, opt, {}
        self.bug = bug

    def deltas(self, X, y):
        h = _sigmoid(X @ self.W1 + self.b1)
        o = _sigmoid(h @ self.W2 + self.b2)
        d_o = (y - o) * o * (1 - o) / len(X)
        d_h = d_o @ self.W2.T * (h if self.bug == "deriv" else h * (1 - h))
        self.d = {"W1": X.T @ d_h, "b1": d_h.sum(0), "W2": h.T @ d_o, "b2": d_o.sum(0)}
        if self.bug == "mixed":  # b2 as dL/db, subtracted: the others as deltas, added
            self.d["b2"] = -self.d["b2"]
        if self.bug == "hidden_plus":  # layer 1 as dL/dW, added like the deltas: it climbs
            self.d["W1"], self.d["b1"] = -self.d["W1"], -self.d["b1"]
        return self.d

    def apply(self, X, y):
        self.deltas(X, y)
        self.t += 1
        lr = LR[self.opt] * (1.5 if self.late and self.t >= self.late else 1.0)
        for k in NAMES:
            d, step = self.d[k], self.d[k]
            if self.opt == "adam":  # torch's Adam fed with d = -g: each step is minus its own
                m, v = self.S.get(k, (0.0, 0.0))
                m, v = 0.9 * m + 0.1 * d, 0.999 * v + 0.001 * d * d
                self.S[k] = (m, v)
                step = m / (1 - 0.9**self.t) / (np.sqrt(v / (1 - 0.999**self.t)) + 1e-8)
                if self.bug == "raw":  # no bias correction
                    step = m / (np.sqrt(v) + 1e-8)
            elif self.opt != "sgd":  # torch's momentum buffer, b = g on the first step
                self.S[k] = step = 0.9 * self.S[k] + d if k in self.S else d.copy()
                if self.bug == "restart":  # the velocity made anew every step
                    self.S = {}
            flip = (self.bug, k) in (("mixed", "b2"), ("w2_up", "W2"))
            sign = -self.sign if flip else self.sign
            getattr(self, k)[...] += sign * lr * step


LR = {"sgd": 2.0, "sgd(momentum=0.9)": 0.5, "adam": 0.05}


def _check(net: Delta, opt: str = "sgd"):
    r = np.random.RandomState(1)
    X = r.rand(16, 3)
    y = (X[:, :1] + X[:, 1:2] > X[:, 2:3] + 0.5).astype(float)
    decl = dict(activations="sigmoid,sigmoid", loss="half_sse", optimizer=opt, lr=LR[opt])
    a = from_gradients(net, NAMES, net.deltas, step=net.apply, sizes=[3, 5, 1], **decl)
    return check(a, X, y, steps=5, probe=False)


@pytest.mark.parametrize("opt", ["sgd", "sgd(momentum=0.9)", "adam"])
def test_the_descent_direction_added_is_a_match_with_a_note_held_over_the_watch(opt):
    """Under momentum and Adam too (review s15c: the run again began with the twin's optimizer
    state left from the first run, a false alarm)."""
    r = _check(Delta(opt=opt), opt)
    assert r.code == "match", r.render()
    assert [f.code for f in r.findings] == ["descent_direction"], r.render()
    assert max(x.step for x in r.records) > 50  # the watch ran, not the few steps before
    assert all(x.passed for x in r.records)


@pytest.mark.parametrize("net", [Delta(sign=-1.0), Delta(late=20)], ids=["subtracted", "late"])
def test_one_half_alone_or_a_later_departure_stays_a_bug(net):
    """w -= lr * delta climbs the loss: a sign flip; the pair right until step 20, where the
    update takes 1.5 lr: the run again with the gradients negated finds it there."""
    r = _check(net)
    assert r.code == "implementation_bug", r.render()
    if net.late:
        # (the learner counts its calls, one more than the steps where a step is run twice)
        assert 10 < min(x.step for x in r.records if not x.passed) <= net.late, r.render()
        note = next(f for f in r.findings if f.code == "descent_direction")
        assert "the findings above are from that run" in note.evidence, note  # not "PyTorch's"
    else:
        assert "sign_flip" in r.codes() and "descent_direction" not in r.codes(), r.render()


def test_a_mixed_convention_negates_only_the_parameters_stepped_against():
    """W1, b1, W2 as deltas added, b2 as dL/db subtracted: every step PyTorch's (review s15c's
    d05: the run again negated every gradient, b2's too, a false alarm)."""
    r = _check(Delta(bug="mixed"))
    assert r.code == "match", r.render()
    note = r.findings[0]
    assert note.code == "descent_direction" and "p['b2']" not in note.params, r.render()


@pytest.mark.parametrize(
    ("opt", "bug", "said"),
    [
        ("adam", "raw", "no bias correction"),
        ("sgd(momentum=0.9)", "restart", "velocity starts from zero at every step"),
        ("sgd", "deriv", ""),
    ],
    ids=["adam_no_bias_correction", "velocity_restart", "derivative"],
)
def test_a_second_bug_beside_the_convention_is_named_from_the_run_again(opt, bug, said):
    """Review s15c's d12 and d15: the delta convention plus an optimizer bug got a sign flip and
    "no known variant"; the same bug in dL/dW code is named. A wrong derivative beside the
    convention lost the two sign flips' reading."""
    r = _check(Delta(opt=opt, bug=bug), opt)
    assert r.code == "implementation_bug", r.render()
    assert "sign_flip" not in r.codes(), r.render()
    first = r.findings[0]
    want = "wrong_activation_derivative" if bug == "deriv" else "optimizer_update_mismatch"
    assert first.code == want and said in first.evidence, r.render()
    note = next(f for f in r.findings if f.code == "descent_direction")
    assert "the findings above are from that run" in note.evidence, r.render()


def test_one_layers_gradient_as_dl_dw_beside_deltas_is_said_to_climb():
    """Review s20a, t44: layer 1's gradient +dL/dW, the others -dL/dW, every one added. The
    run again with the deltas taken as -dL/dW names layer 1's sign; its fix said "if your update
    adds it, the pair is right", which this update does, and W1 climbs."""
    r = _check(Delta(bug="hidden_plus"))
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "sign_flip" and set(f.params) == {"W1", "b1"}, r.render()
    assert f.hint.startswith("this gradient is +dL/dW where your others are -dL/dW"), f.hint


@pytest.mark.parametrize("bug", ["", "w2_up"], ids=["every_weight", "one_layer"])
def test_a_step_that_climbs_is_said_so_in_either_update_convention(bug):
    """A whole step seen through from_step (review s20a, t20): "your update adds the gradient:
    use w -= lr * grad" told a `-=` line to be `-=`. The fix names both signs, and where only
    some parameters climb, that the others descend."""
    net = Delta(sign=-1.0 if not bug else 1.0, bug=bug)
    r = np.random.RandomState(1)
    X = r.rand(16, 3)
    y = (X[:, :1] + X[:, 1:2] > X[:, 2:3] + 0.5).astype(float)
    decl = dict(activations="sigmoid,sigmoid", loss="half_sse", optimizer="sgd", lr=LR["sgd"])
    res = check(from_step(net, NAMES, net.apply, sizes=[3, 5, 1], **decl), X, y, steps=3,
                probe=False)  # fmt: skip
    f = next(f for f in res.findings if f.code == "sign_flip")
    assert f.hint.startswith("your step moves these weights up the loss"), res.render()
    assert ("your other parameters step downhill" in f.hint) == bool(bug), res.render()
    assert set(f.params) == ({"W2"} if bug else set(NAMES)), res.render()


def test_one_update_that_subtracts_beside_deltas_added_is_said_so():
    """Review s20b, e04: every gradient -dL/dW, every update adding it but layer 2's, which
    subtracts. The run again leaves W2 out of the negated set, and its sign flip was told
    "this gradient is +dL/dW ... your update adds each": both false for W2."""
    r = _check(Delta(bug="w2_up"))
    assert r.code == "implementation_bug", r.render()
    f = next(f for f in r.findings if f.code == "sign_flip")
    assert f.params == ("W2",), r.render()
    assert f.hint.startswith("your update subtracts this one (w -= lr * d) where it adds"), f.hint
