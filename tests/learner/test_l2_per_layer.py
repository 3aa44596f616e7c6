"""An L2 penalty on some layers only (the nnfs book's example: weight_regularizer_l2 and
bias_regularizer_l2 on dense1 alone) is declared with one coefficient per layer, l2=[lam, 0];
where undeclared or declared as one number, the fix gives that list (review s24a F1: the
book's own program was an implementation_bug no declaration could answer)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import LearnerError, check, from_gradients, from_step

LAM = 1e-3
NAMES = ["W1", "b1", "W2", "b2"]


class Net:
    """2-8-3 relu/softmax cross-entropy; L2 (lam/2 sum p^2 in the loss) on the layers given."""

    def __init__(self, on=(1,), bias=True):
        r = np.random.RandomState(3)
        self.W1, self.b1 = r.randn(2, 8) * 0.5, r.randn(8) * 0.1
        self.W2, self.b2 = r.randn(8, 3) * 0.5, r.randn(3) * 0.1
        self.on, self.bias = on, bias

    def grads(self, X, y):
        z1 = X @ self.W1 + self.b1
        h = np.maximum(z1, 0)
        z2 = h @ self.W2 + self.b2
        p = np.exp(z2 - z2.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        dh = d @ self.W2.T * (z1 > 0)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        for l in self.on:
            g[f"W{l}"] = g[f"W{l}"] + LAM * getattr(self, f"W{l}")
            if self.bias:
                g[f"b{l}"] = g[f"b{l}"] + LAM * getattr(self, f"b{l}")
        return g

    def step(self, X, y):
        for k, v in self.grads(X, y).items():
            getattr(self, k)[...] -= 0.1 * v


def _data():
    r = np.random.RandomState(4)
    X = r.randn(30, 2)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)


def _check(net, style="gradients", **decl):
    kw = dict(sizes=[2, 8, 3], activations="relu,softmax", loss="cross_entropy", lr=0.1, **decl)
    if style == "gradients":
        a = from_gradients(net, NAMES, net.grads, step=net.step, **kw)
    else:
        a = from_step(net, NAMES, net.step, **kw)
    return check(a, *_data(), steps=3, probe=False)


@pytest.mark.parametrize("style", ["gradients", "step"])
def test_a_penalty_on_one_layer_declared_per_layer_matches(style):
    r = _check(Net(on=(1,)), style, l2=[LAM, 0], l2_bias=[LAM, 0])
    assert r.code == "match", r.render()
    assert "l2=[0.001, 0]" in r.spec


def test_undeclared_the_fix_gives_the_list():
    r = _check(Net(on=(1,)))
    assert r.code == "implementation_bug"
    hints = " ".join(f.hint for f in r.findings)
    assert "l2=[0.001, 0]" in hints and "l2_bias=[0.001, 0]" in hints, r.render()


def test_declared_as_one_number_the_fix_gives_the_list():
    r = _check(Net(on=(1,), bias=False), l2=LAM)
    assert r.code == "implementation_bug"
    assert "declare l2=[0.001, 0]" in r.findings[0].hint, r.render()


def test_a_per_layer_declaration_holds_every_layer_to_its_own():
    """Declared on layer 1 alone, the program penalises both: layer 2 parts, named."""
    r = _check(Net(on=(1, 2), bias=False), l2=[LAM, 0])
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].code == "regularization_mismatch" and r.findings[0].params == ("W2",)


def test_every_layer_alike_is_one_number_in_the_fix():
    r = _check(Net(on=(1, 2), bias=False))
    assert "declare l2=0.001 " in r.findings[0].hint, r.render()


@pytest.mark.parametrize("bad", [[LAM, 0, 0], [LAM, -1.0], ["a", 0]])
def test_a_list_of_another_length_or_value_is_refused(bad):
    net = Net()
    with pytest.raises(LearnerError, match="one per layer"):
        from_gradients(net, NAMES, net.grads, sizes=[2, 8, 3], activations="relu,softmax",
                       loss="cross_entropy", lr=0.1, l2=bad)  # fmt: skip


def test_a_decay_declared_in_the_update_and_left_out_is_told_as_the_update():
    """l2_in='update' declared, the update without (1 - lr l2): the fix is the update's decay,
    not "declare l2_in='update'", which is declared (review s24a F4)."""
    r = _check(Net(on=()), "step", l2=LAM, l2_in="update")
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert "leaves out the declared decay" in f.hint and "declare l2_in" not in f.hint, r.render()


def test_a_penalty_on_another_layer_than_the_declared_one_is_told_with_its_list():
    """Declared on layer 1, taken on layer 2: each layer parts by its own coefficient, read per
    layer (review s24d F7: two unexplained mismatches)."""
    r = _check(Net(on=(2,), bias=False), l2=[LAM, 0])
    assert r.codes() == ["regularization_mismatch"], r.render()
    f = r.findings[0]
    assert "declare l2=[0, 0.001]" in f.hint and "l2=[0.001, 0] is declared" in f.evidence


def test_a_loss_value_that_penalises_every_layer_is_not_offered_the_list():
    """Review s30a F8: a loss with reg/2 (sum W1^2 + sum W2^2) whose dW2 lacks reg W2 was
    told "declare l2=[lam, 0]", a declaration its own loss value contradicts."""
    net = Net(on=(1,), bias=False)

    def loss(X, y):
        g = net.grads(X, y)
        z1 = X @ net.W1 + net.b1
        z2 = np.maximum(z1, 0) @ net.W2 + net.b2
        z2 = z2 - z2.max(1, keepdims=True)
        logp = z2 - np.log(np.exp(z2).sum(1, keepdims=True))
        data = -logp[np.arange(len(y)), y].mean()
        return data + LAM / 2 * ((net.W1**2).sum() + (net.W2**2).sum()), g

    from nnparity.reference.learner import from_loss

    kw = dict(sizes=[2, 8, 3], activations="relu,softmax", loss="cross_entropy", lr=0.1, l2=LAM)
    r = check(from_loss(net, loss, names=NAMES, **kw), *_data(), steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "regularization_mismatch" and f.params == ("W2",), r.render()
    assert "l2=[" not in f.hint and "add l2 * W to them" in f.hint, f.hint


def test_half_the_term_on_the_one_penalised_layer_is_the_2_dropped():
    """Review s31 F5: nnfs's gradient 2 lambda W with the 2 dropped, on dense1 alone, was
    told "use the declared coefficient, which W2 already takes" (W2's declared l2 is 0)."""

    class Half(Net):
        def grads(self, X, y):
            g = super().grads(X, y)
            g["W1"] = g["W1"] - LAM / 2 * self.W1
            return g

    r = _check(Half(bias=False), l2=[LAM, 0])
    f = r.findings[0]
    assert r.code == "implementation_bug" and f.code == "regularization_mismatch", r.render()
    assert "half the declared l2" in f.evidence and "put the 2 back" in f.hint, r.render()
    assert "already take" not in f.hint and f"l2=[{LAM / 2:g}, 0]" in f.hint, r.render()


@pytest.mark.parametrize("style", ["gradients", "step"])
def test_a_float32_penalty_missing_on_one_layer_is_said_missing(style):
    """Review s42b F1: in float32 the fitted term read -1.0007 l2 where -l2 is a missing
    penalty; it was "an L2 penalty of the wrong sign", fix "flip the sign", which changes
    nothing. It is the missing term, with the list that declares the penalty on layer 2."""

    class Net32(Net):
        def __init__(self):
            super().__init__(on=(2,), bias=False)
            for k in NAMES:
                setattr(self, k, getattr(self, k).astype(np.float32))

    X, y = _data()
    net = Net32()
    kw = dict(sizes=[2, 8, 3], activations="relu,softmax", loss="cross_entropy", lr=0.1, l2=LAM)
    if style == "gradients":
        a = from_gradients(net, NAMES, net.grads, step=net.step, **kw)
    else:
        a = from_step(net, NAMES, net.step, **kw)
    r = check(a, X.astype(np.float32), y, steps=3, probe=False)
    assert r.codes() == ["regularization_mismatch"], r.render()
    f = r.findings[0]
    assert "is missing" in f.evidence and "wrong sign" not in f.evidence, r.render()
    assert f"l2=[0, {LAM:g}]" in f.hint, r.render()
