"""Legitimate differences must pass: kinks hit exactly, float32 round-off, tiny gradients."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.engine import run_parity
from nnparity.scratch import Spec, make_data


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "act,bias_value",
    [("relu", 0.0), ("leaky_relu", 0.0), ("hardtanh", 1.0), ("hardtanh", -1.0), ("elu", 0.0)],
)
def test_kinks_hit_exactly(act, bias_value, dtype):
    """Zero weights and a constant bias put every hidden pre-activation exactly on the kink."""
    spec = Spec(
        (3, 4, 2),
        (act, "identity"),
        init="zeros",
        bias_init=f"constant(value={bias_value})",
        dtype=dtype,
        opt="sgd(lr=0.1)",
    )
    result = run_parity(spec, 3)
    assert result.passed, result.message()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tiny_gradients_pass(dtype):
    spec = Spec.parse(f"4-6-3 tanh,identity loss=mse opt=adam(lr=0.01) dtype={dtype}")
    X, y = make_data(spec)
    result = run_parity(spec, 5, data=(X * 1e-7, y))
    assert result.passed, result.message()
    w1 = [r for r in result.records if r.stage == "grad" and r.tensor == "W1"]
    assert max(abs(r.torch_value) for r in w1) < 1e-5


def test_float32_round_off_is_reported_against_the_float64_oracle():
    spec = Spec.parse(
        "8-16-16-4 tanh,gelu,identity loss=cross_entropy opt=adam(lr=0.01) dtype=float32"
    )
    result = run_parity(spec, 10)
    assert result.passed, result.message()
    grads = [r for r in result.records if r.stage == "grad"]
    assert all(r.oracle_scratch is not None and r.oracle_torch is not None for r in grads)
    # scratch's float32 error is the same size as PyTorch's
    ratio = max(r.oracle_scratch for r in grads) / max(r.oracle_torch for r in grads)
    assert 0.1 < ratio < 10


def test_nonfinite_on_both_sides_is_flagged():
    spec = Spec.parse("2-3-1 identity,identity loss=mse opt=sgd(lr=1000) init=normal(std=10)")
    result = run_parity(spec, 8)
    assert any(r.nonfinite for r in result.records)
    assert result.passed, result.message()  # both sides overflow at the same step


def test_nonfinite_on_one_side_fails():
    spec = Spec.parse("2-3-1 identity,identity loss=mse opt=sgd(lr=0.1)")
    X, y = make_data(spec)
    from nnparity.scratch import build

    net = build(spec)

    class Overflowing(type(net)):
        def loss_and_grads(self, params, X, y):
            loss, grads, out = super().loss_and_grads(params, X, y)
            return loss, {**grads, "W1": grads["W1"] * np.inf}, out

    result = run_parity(spec, 2, net=Overflowing(*net))
    assert not result.passed
    assert (result.first_failure.stage, result.first_failure.tensor) == ("grad", "W1")
    assert result.first_failure.nonfinite
