"""The self-gated activations, a = z s(z) (SiLU, GELU in both forms, Mish): a learner who
takes the gate s(z) for the derivative leaves out the product rule's z s'(z); one who writes
GELU's tanh approximation forward and the exact form's derivative (or the reverse) is off by
less than 1e-3. Both were "unexplained_mismatch"; each is named, and the correct code matches."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

_erf = np.vectorize(math.erf)
C = math.sqrt(2 / math.pi)


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _u(z):
    return C * (z + 0.044715 * z**3)


GATES = {  # the gate s and the true derivative of z s(z)
    "silu": (_sig, lambda z: _sig(z) * (1 + z * (1 - _sig(z)))),
    "gelu": (
        lambda z: 0.5 * (1 + _erf(z / math.sqrt(2))),
        lambda z: (
            0.5 * (1 + _erf(z / math.sqrt(2))) + z * np.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)
        ),
    ),
    "gelu(approximate=tanh)": (
        lambda z: 0.5 * (1 + np.tanh(_u(z))),
        lambda z: (
            0.5 * (1 + np.tanh(_u(z)))
            + 0.5 * z * (1 - np.tanh(_u(z)) ** 2) * C * (1 + 3 * 0.044715 * z**2)
        ),
    ),
    "mish": (
        lambda z: np.tanh(np.log1p(np.exp(z))),
        lambda z: (
            np.tanh(np.log1p(np.exp(z))) + z * (1 - np.tanh(np.log1p(np.exp(z))) ** 2) * _sig(z)
        ),
    ),
}
OTHER = {"gelu": "gelu(approximate=tanh)", "gelu(approximate=tanh)": "gelu"}


def _adapter(act: str, deriv: str = "true"):
    """A 4-8-2 network, ``act`` hidden; ``deriv``: 'true', 'gate' (s(z) alone) or 'other'
    (the other GELU form's derivative)."""
    r = np.random.RandomState(0)
    P = {"W1": r.randn(4, 8), "b1": r.randn(8) * 0.5, "W2": r.randn(8, 2) * 0.5, "b2": np.zeros(2)}
    gate = GATES[act][0]
    d_act = {"true": GATES[act][1], "gate": gate, "other": GATES[OTHER.get(act, act)][1]}[deriv]

    def grads(X, y):
        z1 = X @ P["W1"] + P["b1"]
        a1 = z1 * gate(z1)
        out = a1 @ P["W2"] + P["b2"]
        d = 2 * (out - y) / out.size
        da = d @ P["W2"].T * d_act(z1)
        return {"W1": X.T @ da, "b1": da.sum(0), "W2": a1.T @ d, "b2": d.sum(0)}

    decl = dict(sizes=[4, 8, 2], activations=f"{act},identity", loss="mse", optimizer="sgd")
    return from_gradients(P, list(P), grads, lr=0.05, **decl)


def _data():
    r = np.random.RandomState(1)
    return r.randn(16, 4), r.randn(16, 2)


@pytest.mark.parametrize("act", list(GATES))
def test_the_true_derivative_matches(act):
    assert check(_adapter(act), *_data(), steps=3, watch=0, probe=False).code == "match"


@pytest.mark.parametrize("act", list(GATES))
def test_the_gate_alone_is_named(act):
    res = check(_adapter(act, "gate"), *_data(), steps=3, watch=0, probe=False)
    f = res.findings[0]
    assert (f.code, f.params) == ("wrong_activation_derivative", ("W1", "b1")), res.render()
    assert "alone in place of" in f.evidence and "product rule's second term" in f.evidence


@pytest.mark.parametrize("act", list(OTHER))
def test_the_other_gelu_forms_derivative_is_named(act):
    res = check(_adapter(act, "other"), *_data(), steps=3, watch=0, probe=False)
    f = res.findings[0]
    assert (f.code, f.params) == ("wrong_activation_derivative", ("W1", "b1")), res.render()
    form = "exact (erf)" if "tanh" in act else "tanh approximation's"
    assert f"the {form} GELU derivative beside the other form's forward pass" in f.evidence
