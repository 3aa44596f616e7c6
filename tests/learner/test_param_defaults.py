"""An activation's parameter left out of its derivative (review s22, finding 8): softplus with
beta = 2 whose backward takes sigma(z) (beta = 1) was "sigma(z), the activation itself, in
place of softplus'(z)", an ELU with alpha = 2 taking exp(z) below 0 "1 + 0.5 a for z <= 0".
Each is the derivative at PyTorch's default parameter: said so. (A declaration with two
arguments, activations="hardtanh(min_val=-2, max_val=2),identity", was split at its inner
comma: "cannot read activation 'hardtanh(min_val=-2'".)"""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _sig(z):
    return 1 / (1 + np.exp(-z))


ACTS = {  # declared: (forward at the declared parameter, its derivative at p)
    "elu(alpha=2)": (
        lambda z: np.where(z > 0, z, 2.0 * (np.exp(z) - 1)),
        lambda z, p: np.where(z > 0, 1.0, p * np.exp(z)),
        2.0,
        "alpha = 1 where alpha = 2",
    ),
    "softplus(beta=2)": (
        lambda z: np.log1p(np.exp(2 * z)) / 2,
        lambda z, p: _sig(p * z),
        2.0,
        "beta = 1 where beta = 2",
    ),
    "hardtanh(min_val=-2, max_val=2)": (
        lambda z: np.clip(z, -2, 2),
        lambda z, p: ((z > -p) & (z < p)) * 1.0,
        2.0,
        "min_val = -1, max_val = 1 where min_val = -2, max_val = 2",
    ),
}


def _adapter(act: str, left_out: bool):
    f, df, p, _ = ACTS[act]
    r = np.random.RandomState(0)
    P = {
        "W1": r.randn(3, 6) * 1.5,
        "b1": r.randn(6) * 0.1,
        "W2": r.randn(6, 1) * 0.6,
        "b2": np.zeros(1),
    }

    def loss(X, y):
        z = X @ P["W1"] + P["b1"]
        h = f(z)
        out = h @ P["W2"] + P["b2"]
        d = 2 * (out - y) / out.size
        dz = d @ P["W2"].T * df(z, 1.0 if left_out else p)
        g = {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        return float(np.mean((out - y) ** 2)), g

    decl = dict(sizes=[3, 6, 1], activations=f"{act},identity", loss="mse", optimizer="sgd")
    return from_loss(P, loss, lr=0.05, **decl)


def _data():
    r = np.random.RandomState(1)
    X = r.randn(24, 3)
    return X, np.sin(X[:, :1]) + X[:, 1:2] * X[:, 2:]


@pytest.mark.parametrize("act", list(ACTS))
def test_the_declared_parameter_in_the_derivative_matches(act):
    assert check(_adapter(act, False), *_data(), steps=3, watch=0, probe=False).code == "match"


@pytest.mark.parametrize("act", list(ACTS))
def test_the_parameter_left_out_of_the_derivative_is_named(act):
    res = check(_adapter(act, True), *_data(), steps=3, watch=0, probe=False)
    f = res.findings[0]
    assert (f.code, f.params) == ("wrong_activation_derivative", ("W1", "b1")), res.render()
    assert f"at the default {ACTS[act][3]} is declared: the parameter left out" in f.evidence
