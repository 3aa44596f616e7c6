"""An activation used with another hyperparameter than the declared one (a leaky slope of 0.1
declared as the default 0.01, an ELU alpha): the forward output is fitted for that value and
the finding names it, round or not. Tested both ways: the declared value matches, and a forward
bug of another kind is not read as a hyperparameter."""

import math

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients

erf = np.vectorize(math.erf)
C, K = math.sqrt(2 / math.pi), 0.044715


def gelu(z, form):
    if form == "tanh":
        return 0.5 * z * (1 + np.tanh(C * (z + K * z**3)))
    return 0.5 * z * (1 + erf(z / math.sqrt(2)))


def gelu_prime(z, form):
    if form == "tanh":
        t = np.tanh(C * (z + K * z**3))
        return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * C * (1 + 3 * K * z**2)
    return 0.5 * (1 + erf(z / math.sqrt(2))) + z * np.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)


ACTS = {
    "leaky_relu": lambda z, p: np.where(z > 0, z, p * z),
    "elu": lambda z, p: np.where(z > 0, z, p * np.expm1(np.minimum(z, 0))),
    "gelu": gelu,
}
PRIME = {
    "leaky_relu": lambda z, p: np.where(z > 0, 1.0, p),
    "elu": lambda z, p: np.where(z > 0, 1.0, p * np.exp(np.minimum(z, 0))),
    "gelu": gelu_prime,
}


def _check(name: str, used: float | str, declared: str, bias_in_forward: bool = True):
    r = np.random.RandomState(3)
    P = {"W1": r.randn(3, 6) * 0.8, "b1": r.randn(6) * 0.1, "W2": r.randn(6, 2), "b2": np.zeros(2)}
    X = r.randn(16, 3)
    Y = r.randn(16, 2)

    def forward(X):
        z = X @ P["W1"] + (P["b1"] if bias_in_forward else 0)
        return ACTS[name](z, used) @ P["W2"] + P["b2"]

    def grads(X, Y):
        z = X @ P["W1"] + P["b1"]
        a = ACTS[name](z, used)
        d = (a @ P["W2"] + P["b2"] - Y) / len(X)
        dz = d @ P["W2"].T * PRIME[name](z, used)
        return {"W1": X.T @ dz, "b1": dz.sum(0), "W2": a.T @ d, "b2": d.sum(0)}

    a = from_gradients(
        P, ["['W1']", "['b1']", "['W2']", "['b2']"], grads, forward=forward, sizes=[3, 6, 2],
        activations=f"{declared},identity", loss="half_sse", optimizer="sgd", lr=0.1,
    )  # fmt: skip
    return check(a, X, Y, steps=2, probe=False)


@pytest.mark.parametrize(
    ("name", "used", "declared", "said"),
    [
        ("leaky_relu", 0.1, "leaky_relu", "leaky_relu(slope=0.1) at layer 1"),
        ("leaky_relu", 0.2, "leaky_relu(0.01)", "leaky_relu(slope=0.2) at layer 1"),
        ("leaky_relu", 0.137, "leaky_relu", "leaky_relu(slope=0.137) at layer 1"),
        ("elu", 0.5, "elu", "elu(alpha=0.5) at layer 1"),
        ("gelu", "tanh", "gelu", "gelu(approximate=tanh) at layer 1"),  # review s12
        ("gelu", "none", "gelu(tanh)", "gelu(approximate=none) at layer 1"),
    ],
)
def test_an_undeclared_hyperparameter_is_fitted_and_named(name, used, declared, said):
    r = _check(name, used, declared)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "wrong_activation" and said in f.evidence, r.render()
    assert f"declare {said.split(' at ')[0]}" in f.hint


@pytest.mark.parametrize(("name", "used"), [("leaky_relu", 0.1), ("elu", 0.5), ("gelu", "tanh")])
def test_the_declared_value_matches(name, used):
    r = _check(name, used, f"{name}({used})")
    assert r.code == "match", r.render()


def test_a_missing_bias_is_not_read_as_a_slope():
    r = _check("leaky_relu", 0.01, "leaky_relu", bias_in_forward=False)
    assert r.findings[0].code == "bias_not_applied", r.render()
