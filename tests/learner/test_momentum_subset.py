"""A velocity kept for some parameters alone (sgd_form.py): nnfs's SGD with the biases'
momentum never stored back steps the biases by plain SGD. Behind a step that hides its
gradients this read as an unexplained bias gradient (review s28 r08); it is named as the
optimizer's, for those parameters alone. Both ways: the correct step matches, a bias gradient
that is wrong (doubled) is not read as a momentum slip."""

import pytest
from tanh_net import net, passes

from nnparity import check
from nnparity.reference.learner import from_step

NAMES = ["W1", "b1", "W2", "b2"]


class MomentumNet:
    def __init__(self, slip=None, decay=0.0):
        P, _, _ = net()
        self.W1, self.b1, self.W2, self.b2 = (p.copy() for p in P)
        self.v = {}
        self.slip, self.decay, self.t = slip, decay, 0

    def step(self, X, Y):
        h, do, dh = passes([self.W1, self.b1, self.W2, self.b2], X, Y)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ do, "b2": do.sum(0)}
        if self.slip == "doubled bias gradient":
            g["b1"] = 2 * g["b1"]
        lr = 0.1 / (1 + self.decay * self.t)
        self.t += 1
        for name, d in g.items():
            v = 0.9 * self.v.get(name, 0.0) - lr * d
            if not (self.slip == "bias velocity not stored" and name[0] == "b"):
                self.v[name] = v  # nnfs: layer.bias_momentums = bias_updates, forgotten
            setattr(self, name, getattr(self, name) + v)


def _check(slip=None, decay=0.0):
    P, X, Y = net()
    m = MomentumNet(slip, decay)
    opt = f"sgd(momentum=0.9{f', lr_decay={decay}' if decay else ''})"
    a = from_step(m, NAMES, m.step, sizes=[4, 5, 3], activations="tanh,identity",
                  loss="mse", optimizer=opt, lr=0.1)  # fmt: skip
    return check(a, X, Y, steps=5, probe=False)


@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_biases_without_a_kept_velocity_are_named(decay):
    r = _check("bias velocity not stored", decay)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "optimizer_update_mismatch", r.render()
    assert set(f.params) == {"b1", "b2"}, r.render()
    assert "no momentum" in f.evidence and "store it back" in f.hint


@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_the_correct_step_matches(decay):
    r = _check(None, decay)
    assert r.code == "match", r.render()


def test_a_wrong_bias_gradient_is_not_read_as_a_momentum_slip():
    r = _check("doubled bias gradient")
    assert r.code == "implementation_bug", r.render()
    assert "no momentum" not in r.render(), r.render()
