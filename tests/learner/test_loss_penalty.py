"""The L2 penalty of the loss value a learner returns against the one its gradients carry
(review s15a: deeplearning.ai's cost lambd/(2m) sum W^2 beside a gradient lambd W, and
CS231n's reg sum W^2 beside reg W, each declared as its gradient has it, were a match with a
note saying training is unaffected; the regularization finding's fix offered that very
declaration). One penalty on both sides matches; another coefficient in the loss than in the
gradients is a bug whichever was meant; a loss printed without its penalty, or in another
reduction, stays a note."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

NAMES = ["W1", "b1", "W2", "b2"]
M = 24  # rows


class Net:
    """3-6-2 tanh regression, mse; gradients carry ``g_l2`` W, the loss ``v_l2``/2 sum W^2;
    ``v_scale`` scales the data term of the value returned (a sum where mse means)."""

    def __init__(self, g_l2: float, v_l2: float, v_scale: float = 1.0):
        r = np.random.RandomState(0)
        self.W1, self.b1 = 0.6 * r.randn(3, 6), 0.3 * r.randn(6)
        self.W2, self.b2 = 0.6 * r.randn(6, 2), 0.3 * r.randn(2)
        self.g_l2, self.v_l2, self.v_scale = g_l2, v_l2, v_scale

    def loss_and_grads(self, X, y):
        h = np.tanh(X @ self.W1 + self.b1)
        out = h @ self.W2 + self.b2
        d = 2 * (out - y) / y.size
        dz = d @ self.W2.T * (1 - h**2)
        g = {"W1": X.T @ dz + self.g_l2 * self.W1, "b1": dz.sum(0)}
        g |= {"W2": h.T @ d + self.g_l2 * self.W2, "b2": d.sum(0)}
        sq = float((self.W1**2).sum() + (self.W2**2).sum())
        return self.v_scale * float(((out - y) ** 2).mean()) + self.v_l2 / 2 * sq, g

    def step(self, X, y, decay: float = 0.0):
        _, g = self.loss_and_grads(X, y)
        for k in NAMES:
            if k[0] == "W":  # l2_in='update': w *= 1 - lr l2 (Nielsen's network2)
                getattr(self, k)[...] *= 1 - 0.1 * decay
            getattr(self, k)[...] -= 0.1 * g[k]


def _check(net: Net, l2: float, with_loss: bool = True):
    r = np.random.RandomState(1)
    X = r.randn(M, 3)
    y = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]
    fn = net.loss_and_grads if with_loss else (lambda X, y: net.loss_and_grads(X, y)[1])
    decl = dict(activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1, l2=l2)
    a = from_gradients(net, NAMES, fn, step=net.step, sizes=[3, 6, 2], **decl)
    return check(a, X, y, steps=6, probe=False)


LAMBD = 0.7


@pytest.mark.parametrize("lam", [0.0, LAMBD / M, 0.05])
def test_one_penalty_in_the_loss_and_the_gradients_matches(lam):
    r = _check(Net(lam, lam), lam)
    assert r.code == "match" and r.findings == (), r.render()


def test_a_loss_penalty_the_gradients_do_not_take_is_a_bug():
    """deeplearning.ai: cost lambd/(2m) sum W^2, gradient lambd W (the 1/m dropped), declared
    as the gradient has it (l2 = lambd): the value parts, the gradients agree."""
    r = _check(Net(LAMBD, LAMBD / M), LAMBD)
    assert r.code == "implementation_bug" and r.codes() == ["regularization_mismatch"], r.render()
    f = r.findings[0]
    assert f"carries an L2 penalty {LAMBD / M:.6g}/2 sum W^2" in f.evidence, f.evidence
    assert "your gradients are not your own loss's" in f.evidence
    assert f.params == ("W1", "W2")


def test_an_undeclared_penalty_in_the_loss_alone_is_a_bug():
    """The loss carries 0.05/2 sum W^2, the gradients no L2 term, nothing declared."""
    r = _check(Net(0.0, 0.05), 0.0)
    assert r.code == "implementation_bug" and r.codes() == ["regularization_mismatch"], r.render()
    assert "no L2 term in each weight gradient" in r.findings[0].evidence


def test_a_value_printed_without_its_penalty_or_summed_stays_a_note():
    """The data term alone (the penalty left out of the value), or the data term summed
    over the rows where the gradients mean: training is unaffected, a note."""
    for net in (Net(0.05, 0.0), Net(0.0, 0.0, v_scale=2.0 * M)):
        r = _check(net, net.g_l2)
        assert r.code == "match", r.render()
        assert [f.code for f in r.findings] == ["loss_value_mismatch"], r.render()


def test_the_fix_offers_no_redeclaration_when_the_loss_takes_the_declared_penalty():
    """Declared l2 = lambd/m as the cost has it, gradient lambd W: the fix says the 1/m is
    missing and does not offer l2 = lambd, which would turn the bug into a match; with no
    loss value returned, the declaration stays a reading."""
    r = _check(Net(LAMBD, LAMBD / M), LAMBD / M)
    f = r.findings[0]
    assert f.code == "regularization_mismatch", r.render()
    assert f"with m = {M} rows: the 1/m left out" in f.evidence, f.evidence
    assert "your loss takes it, your gradients do not" in f.evidence
    assert "declare l2" not in f.hint, f.hint
    r = _check(Net(0.05, 0.1), 0.1)  # CS231n: reg sum W^2 in the loss, reg W in the gradient
    f = r.findings[0]
    assert "the 2 dropped" in f.evidence and "put the 2 back" in f.hint, r.render()
    assert "declare l2" not in f.hint, f.hint
    f = _check(Net(0.05, 0.1), 0.1, with_loss=False).findings[0]
    assert "or declare l2=0.05" in f.hint and "your loss takes it" not in f.evidence, f.hint


def test_a_penalty_applied_in_the_update_with_the_value_holding_it_is_no_bug():
    """Review s15c: Nielsen's network2 (l2_in='update') returning total_cost, which holds the
    penalty: the check adds the declared penalty to the value it is given, so the value held
    it twice, fitted as lam = 2 l2: a false alarm. At most a note now."""
    net = Net(0.0, 0.05)
    r = np.random.RandomState(1)
    X = r.randn(M, 3)
    y = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]
    decl = dict(activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1, l2=0.05)
    a = from_gradients(net, NAMES, net.loss_and_grads, step=lambda X, y: net.step(X, y, 0.05),
                       sizes=[3, 6, 2], l2_in="update", **decl)  # fmt: skip
    res = check(a, X, y, steps=6, probe=False)
    assert res.code == "match", res.render()
    assert "regularization_mismatch" not in [f.code for f in res.findings], res.render()
