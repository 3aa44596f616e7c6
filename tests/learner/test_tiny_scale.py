"""Data on a tiny scale (review s13): inputs of 1e-3 (metres) and targets of 1e-4. The round-off
allowance of the output's gradient took the target's size as 1 (``|H| (|z| + 1)``), which at
these targets is 1e-2 of the gradient: a float32 network with tanh' written ``1 - h`` (off by
0.25% of every hidden gradient) was a match. The target enters at its own size now."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _net(dtype, bug, scale):
    r = np.random.RandomState(2)
    X = (r.rand(40, 3) * scale).astype(dtype)
    Y = (np.sin(X[:, :1] / scale * 2) * scale / 10).astype(dtype)
    P = [r.randn(3, 10).astype(dtype), np.zeros((1, 10), dtype),
         (r.randn(10, 1) * 0.1).astype(dtype), np.zeros((1, 1), dtype)]  # fmt: skip

    def grads(X, y):
        h = np.tanh(X @ P[0] + P[1])
        d = (h @ P[2] + P[3] - y) / len(X)
        dh = d @ P[2].T * ((1 - h) if bug else (1 - h**2))
        return [X.T @ dh, dh.sum(0, keepdims=True), h.T @ d, d.sum(0, keepdims=True)]

    def forward(X):
        return np.tanh(X @ P[0] + P[1]) @ P[2] + P[3]

    adapter = from_gradients(
        P, ["[0]", "[1]", "[2]", "[3]"], grads, forward=forward, sizes=[3, 10, 1],
        activations="tanh,identity", loss="half_sse", optimizer="sgd", lr=0.1,
    )  # fmt: skip
    return adapter, X, Y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-3, 1.0])
def test_tanh_derivative_slip_is_found_on_tiny_data(dtype, scale):
    adapter, X, Y = _net(dtype, True, scale)
    res = check(adapter, X, Y, steps=3, watch=0, probe=False)
    assert res.code == "implementation_bug"
    assert {"[0]", "[1]"} & {p for f in res.findings for p in f.params}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-3, 1.0])
def test_correct_network_on_tiny_data_is_a_match(dtype, scale):
    adapter, X, Y = _net(dtype, False, scale)
    assert check(adapter, X, Y, steps=3, watch=40, probe=False).code == "match"


def test_the_allowance_of_the_output_gradient_scales_with_the_targets():
    """The envelope of dL/dz at targets of 1e-4 is within a few u of the gradient itself,
    not u times a target of 1 (the old allowance: 1e-2 of it)."""
    from nnparity.reference.roundoff import Envelope
    from nnparity.scratch import Spec

    spec = Spec.parse("3-10-1 tanh,identity loss=half_sse opt=sgd(lr=0.1) dtype=float32")
    _, X, Y = _net(np.float32, False, 1e-3)
    r = np.random.RandomState(2)
    r.rand(40, 3)
    P = {"W1": r.randn(3, 10), "b1": np.zeros(10), "W2": r.randn(10, 1) * 0.1, "b2": np.zeros(1)}
    env = Envelope(spec)
    b = env.grads(P, X.astype(np.float64), Y.astype(np.float64))
    d = (np.tanh(X @ P["W1"]) @ P["W2"] - Y) / len(X)
    assert b[("grad", "b2")].max() < 1e-3 * np.abs(d.sum())
