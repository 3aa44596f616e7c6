"""A leaky ReLU's candidates take the declared slope (review s22, finding 1): they took 0.01
whatever was declared, so a slope-0.1 network whose backward used 0.01 below 0 "matched" as a
kink convention, and a correct slope-0.1 network taking the derivative 1 at z = 0 was an
unexplained mismatch."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _adapter(slope: float, back_slope: float, at_zero: float | None = None):
    """Forward with ``slope``, backward with ``back_slope`` below 0 and ``at_zero`` at z = 0
    (None: the backward slope there too, as PyTorch)."""
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 6) * 0.5, "b1": np.zeros(6), "W2": r.randn(6, 2) * 0.5, "b2": np.zeros(2)}

    def loss(X, y):
        z = X @ P["W1"] + P["b1"]
        h = np.where(z > 0, z, slope * z)
        out = h @ P["W2"] + P["b2"]
        d = 2 * (out - y) / out.size
        dh = np.where(z > 0, 1.0, back_slope)
        if at_zero is not None:
            dh = np.where(z == 0, at_zero, dh)
        dz = d @ P["W2"].T * dh
        g = {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        return float(np.mean((out - y) ** 2)), g

    decl = dict(sizes=[3, 6, 2], activations=f"leaky_relu({slope}),identity", loss="mse")
    return from_loss(P, loss, optimizer="sgd", lr=0.05, **decl)


def _data(zero_rows: bool = False):
    r = np.random.RandomState(1)
    X = r.randn(24, 3)
    if zero_rows:  # z = b1 = 0 exactly on these rows: the kink
        X[:4] = 0.0
    return X, r.randn(24, 2)


@pytest.mark.parametrize("slope", [0.01, 0.1, 0.3])
def test_correct_code_at_any_slope_matches(slope):
    res = check(_adapter(slope, slope), *_data(), steps=3, watch=0, probe=False)
    assert res.code == "match", res.render()


@pytest.mark.parametrize(("slope", "back"), [(0.1, 0.01), (0.1, 0.2), (0.01, 0.1), (0.3, 1.0)])
def test_a_backward_slope_other_than_the_forward_one_is_a_bug(slope, back):
    res = check(_adapter(slope, back), *_data(), steps=3, watch=0, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert "kink_convention" not in res.codes(), res.render()


def test_the_default_slope_in_the_backward_is_named_with_both_readings():
    res = check(_adapter(0.1, 0.01), *_data(), steps=3, watch=0, probe=False)
    f = res.findings[0]
    assert f.params == ("W1", "b1"), res.render()
    assert "also a derivative written with the slope 0.01 where the forward pass uses 0.1" in (
        f.evidence
    )


@pytest.mark.parametrize("slope", [0.01, 0.1])
def test_the_derivative_1_at_the_kink_is_a_convention_at_the_declared_slope(slope):
    res = check(_adapter(slope, slope, at_zero=1.0), *_data(True), steps=3, watch=0, probe=False)
    assert res.code == "match", res.render()
    assert res.codes() == ["kink_convention"], res.render()
    assert f"(PyTorch takes the slope, {slope:g})" in res.findings[0].evidence
