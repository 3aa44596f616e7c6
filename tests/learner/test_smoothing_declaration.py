"""Another label smoothing than the declared one (review s16b n02): fairseq's form, eps/(K-1)
on each wrong class and 1 - eps on the right one, is PyTorch's cross-entropy at
eps K/(K-1). Read as `unexplained_mismatch` on every gradient before; now the smoothing the
code implies is read off its gradients and held to the twin at that value (its loss value too).
A real bug beside the smoothing, or a loss value that disagrees with the gradient's smoothing,
is never called a declaration."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

K = 3
NAMES = ["W1", "b1", "W2", "b2"]


def _data():
    r = np.random.default_rng(0)
    X = r.standard_normal((40, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5).astype(int)
    return X, y


class Net:
    def __init__(self, targets, loss=True, bug=None):
        r = np.random.default_rng(1)
        self.P = {"W1": r.standard_normal((4, 8)) * 0.5, "b1": np.zeros(8),
                  "W2": r.standard_normal((8, K)) * 0.5, "b2": np.zeros(K)}  # fmt: skip
        self.targets, self.loss, self.bug = targets, loss, bug

    def grads(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        z = h @ P["W2"] + P["b2"]
        s = np.exp(z - z.max(1, keepdims=True))
        s /= s.sum(1, keepdims=True)
        T = self.targets(y)
        dz = (s - T) / len(y)
        dh = dz @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}
        if self.bug == "double_W2":
            g["W2"] = 2 * g["W2"]
        value = -(T * np.log(s)).sum(1).mean()
        if self.bug == "hard_value":  # the loss value against the hard labels
            value = -np.log(s[np.arange(len(y)), y]).mean()
        return (value, g) if self.loss else g


def fairseq(eps):
    def t(y):
        T = np.full((len(y), K), eps / (K - 1))
        T[np.arange(len(y)), y] = 1 - eps
        return T

    return t


def torch_form(eps):
    def t(y):
        T = np.full((len(y), K), eps / K)
        T[np.arange(len(y)), y] += 1 - eps
        return T

    return t


def _check(net, loss):
    a = from_gradients(net.P, NAMES, net.grads, sizes=[4, 8, K], activations="tanh,identity",
                       loss=loss, optimizer="sgd", lr=0.5)  # fmt: skip
    return check(a, *_data(), steps=3, probe=False)


def _decl(r):
    return [f for f in r.findings if f.code == "loss_declaration"]


@pytest.mark.parametrize("loss", [True, False])
def test_fairseqs_form_is_named_with_the_smoothing_that_takes_its_steps(loss):
    r = _check(Net(fairseq(0.1), loss=loss), "cross_entropy(label_smoothing=0.1)")
    (f,) = _decl(r)
    assert "label_smoothing=0.15)" in f.hint and "fairseq" in f.evidence, r.render()
    assert [x.code for x in r.findings] == ["loss_declaration"], r.render()


def test_smoothing_written_but_not_declared_is_named():
    r = _check(Net(torch_form(0.2)), "cross_entropy")
    (f,) = _decl(r)
    assert "label_smoothing=0.2)" in f.hint and "none is declared" in f.evidence, r.render()


def test_a_declared_smoothing_the_code_leaves_out_is_named():
    r = _check(Net(lambda y: np.eye(K)[y]), "cross_entropy(label_smoothing=0.1)")
    (f,) = _decl(r)
    assert "no label smoothing" in f.evidence and "0.1/K" in f.hint, r.render()


def test_the_declared_smoothing_matches():
    assert _check(Net(torch_form(0.1)), "cross_entropy(label_smoothing=0.1)").code == "match"


@pytest.mark.parametrize("bug", ["double_W2", "hard_value"])
def test_a_bug_beside_the_smoothing_is_no_declaration(bug):
    r = _check(Net(fairseq(0.1), bug=bug), "cross_entropy(label_smoothing=0.1)")
    assert r.code == "implementation_bug" and not _decl(r), r.render()
