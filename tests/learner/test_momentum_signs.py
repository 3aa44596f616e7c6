"""Optimizer slips with a sign or a factor left out, each named with its fix (review s19a:
"no known variant reproduces them"): SGD momentum's velocity decayed by -mu, Nesterov's
look-ahead subtracted, Adam's corrected moments written back into m and v, AdamW's decay
without the lr. Tested both ways: the right update matches."""

from __future__ import annotations

import numpy as np
import pytest
from optim_learners import NAMES, Learner, X, Y, _check, _finding

from nnparity.reference.learner import check, from_gradients


def _sgd(bug: str | None, nesterov: bool):
    """Keras's momentum form, v = mu v - lr g, w += v (Nesterov: w += mu v - lr g)."""
    net, vel = Learner("adam"), {}

    def update(g):
        for k, p in net.P.items():
            v = vel.setdefault(k, np.zeros_like(p))
            v *= -0.9 if bug == "mu_flip" else 0.9
            v -= 0.05 * g[k]
            if nesterov:
                p += (-0.9 if bug == "nesterov_sign" else 0.9) * v - 0.05 * g[k]
            else:
                p += v

    opt = f"sgd(momentum=0.9{',nesterov=true' if nesterov else ''})"
    return from_gradients(net.P, NAMES, net.shown, step=lambda X, y: update(net.last),
                          sizes=[3, 6, 1], activations="tanh,identity", loss="mse",
                          optimizer=opt, lr=0.05)  # fmt: skip


@pytest.mark.parametrize(
    ("bug", "nesterov", "said"),
    [
        (None, False, None),
        (None, True, None),
        ("mu_flip", False, "v = -mu v - lr g"),
        ("nesterov_sign", True, "look-ahead term with the wrong sign"),
    ],
)
def test_momentum_signs(bug, nesterov, said):
    r = check(_sgd(bug, nesterov), X, Y, steps=5, probe=False)
    if bug is None:
        assert r.code == "match", r.render()
        return
    assert said in _finding(r).evidence, r.render()


def test_adams_corrected_moments_written_back_are_named():
    f = _finding(_check("adam", "bc_in_place", style="gradients"))
    assert "bias-corrected moments written back into m and v" in f.evidence, f.evidence


@pytest.mark.parametrize("with_lr", [True, False])
def test_adamws_decay_without_the_lr_is_named(with_lr):
    net, S, t = Learner("adam"), {}, [0]

    def update(g):
        t[0] += 1
        for k, p in net.P.items():
            m, v = S.setdefault(k, (np.zeros_like(p), np.zeros_like(p)))
            p *= 1 - (0.01 * 0.1 if with_lr else 0.1)  # lr 0.01, weight_decay 0.1
            m += 0.1 * (g[k] - m)
            v += 0.001 * (g[k] ** 2 - v)
            p -= 0.01 * (m / (1 - 0.9 ** t[0])) / (np.sqrt(v / (1 - 0.999 ** t[0])) + 1e-8)

    a = from_gradients(net.P, NAMES, net.shown, step=lambda X, y: update(net.last),
                       sizes=[3, 6, 1], activations="tanh,identity", loss="mse",
                       optimizer="adamw(weight_decay=0.1)", lr=0.01)  # fmt: skip
    r = check(a, X, Y, steps=5, probe=False)
    if with_lr:
        assert r.code == "match", r.render()
        return
    assert "decoupled weight decay without the learning rate" in _finding(r).evidence
