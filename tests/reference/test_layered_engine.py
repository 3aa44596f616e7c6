"""The engine's layered path: the example spec end to end, Adam before a batchnorm in float32,
finite differences through every layer (dropout with its fixed mask), memory sizing."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference import layered_engine
from nnparity.reference.engine import run_parity
from nnparity.reference.finite_diff import fd_grads
from nnparity.reference.resources import check_resources, estimate_bytes
from nnparity.scratch import Spec, SpecError, build, make_data

EXAMPLE = (
    "1x8x8 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(16) batchnorm relu dropout(0.25) "
    "dense(3) loss=cross_entropy opt=adam(lr=0.01) dtype=float32 seed=0"
)


@pytest.mark.parametrize("mode", ["free", "resync"])
def test_example_spec_holds_with_every_stage(mode):
    result = run_parity(EXAMPLE, 3, mode)
    assert result.passed, result.message()
    names = {(r.stage, r.tensor) for r in result.records if r.step == 1}
    for n in ("W1", "b1", "W2", "b2", "gamma3", "beta3", "W5", "b5"):
        assert ("grad", n) in names and ("update", n) in names
    assert {("buffers", "running_mean3"), ("buffers", "running_var3")} <= names
    evals = [r for r in result.records if r.stage == "eval"]
    assert [(r.step, r.tensor) for r in evals] == [(3, "output")]
    assert all(r.oracle_scratch is not None for r in evals)  # float32: the oracle looked too


def test_adam_before_batchnorm_float32_bias_moves_by_lr_and_passes():
    """b2 feeds a batchnorm: its true gradient is 0 and each side's is round-off, which Adam
    divides by its own RMS into a step of about lr in a direction of its own. The records must
    show that difference (it is not hidden) and pass it on the optimizer's sensitivity to the
    gradient's allowance."""
    result = run_parity(EXAMPLE, 2, "resync", keep_arrays=True)
    assert result.passed, result.message()
    a, e = result.arrays[(1, "update", "b2")]
    assert np.abs(a - e).max() > 1e-3  # a tenth of lr or more: far outside assert_close
    grad = next(r for r in result.records if (r.step, r.stage, r.tensor) == (1, "grad", "b2"))
    assert grad.oracle_torch < 1e-6  # the gradient really is round-off on the torch side


def test_adam_before_batchnorm_fails_without_the_sensitivity_allowance(monkeypatch):
    """The allowance above is what passes the record: without it (tolerance and the oracle
    only) the same run fails on b2's update, so the test above is not vacuous."""
    monkeypatch.setattr(layered_engine._Probe, "step", lambda self, *a, **k: {})
    result = run_parity(EXAMPLE, 2, "resync", oracle=False)
    assert ("update", "b2") in {(r.stage, r.tensor) for r in result.failures}


LAYERS = [
    "1x5x5 conv(2,k=3,stride=2,pad=1) tanh flatten dense(2)",
    "1x5x5 conv(2,k=2) maxpool(2,stride=1) flatten dense(2)",
    "2x4x4 avgpool(3,stride=1) flatten dense(2)",
    "2x3x3 batchnorm tanh flatten dense(2)",
    "6 dense(4) batchnorm tanh dense(2)",
    "6 dense(4) layernorm tanh dense(2)",
    "6 dense(4) tanh dropout(0.5) dense(2)",
]


@pytest.mark.parametrize("text", LAYERS)
def test_finite_differences_agree_with_scratch_through_every_layer(text):
    spec = Spec.parse(f"{text} loss=mse dtype=float64 seed=3 batch=4")
    net = build(spec)
    p = net.init_params()
    X, y = make_data(spec)
    out, trace = net.forward(p, X, seed=[0, 2, 0])
    grads = net.backward(p, trace, net.loss_fn.grad(out, y))
    fd = fd_grads(spec, p, X, y, masks=trace.masks)
    # relative to the largest gradient: a bias feeding a batchnorm has a true gradient of 0
    scale = max(np.abs(g).max() for g in grads.values())
    for n, g in grads.items():
        assert np.abs(fd[n] - g).max() / scale < 1e-6, n


def test_finite_differences_without_the_mask_disagree():
    """Dropout's mask is what makes the loss a function to differentiate: the differences taken
    with another mask are not scratch's gradient (so the test above exercises the mask)."""
    spec = Spec.parse("6 dense(4) tanh dropout(0.5) dense(2) loss=mse seed=3 batch=4")
    net = build(spec)
    p = net.init_params()
    X, y = make_data(spec)
    out, trace = net.forward(p, X, seed=[0, 2, 0])
    grads = net.backward(p, trace, net.loss_fn.grad(out, y))
    other = {"mask2": 1 - trace.masks["mask2"]}
    fd = fd_grads(spec, p, X, y, ["W1"], masks=other)
    assert np.abs(fd["W1"] - grads["W1"]).max() > 1e-3


def test_layered_memory_estimate_counts_the_layers():
    small = Spec.parse("1x8x8 conv(4,k=3) flatten dense(3)")
    wide = Spec.parse("3x64x64 conv(64,k=3,pad=1) flatten dense(3)")
    assert 0 < estimate_bytes(small, 5) < estimate_bytes(wide, 5)
    huge = wide.replace(batch=10**6)
    with pytest.raises(SpecError, match="input 3x64x64"):
        check_resources(huge, 5)


def test_a_foreign_network_for_a_layered_spec_is_refused_with_the_fix():
    class Mine:
        pass

    with pytest.raises(SpecError, match="LayeredNetwork"):
        run_parity(EXAMPLE, 1, net=Mine())


@pytest.mark.parametrize(
    "text",
    [
        "5 dense(4) batchnorm relu dense(3) log_softmax loss=nll batch=2",
        "1x6x6 conv(3,k=3,stride=2,pad=1) relu maxpool(2,stride=1) flatten dense(6) layernorm "
        "tanh dropout(0.25) dense(3) loss=cross_entropy batch=4",
    ],
)
def test_the_first_order_error_bound_is_never_wider_than_k_t(text):
    """E carries each layer's own rounding down the absolute chain; with |g| <= T at every
    layer it is at most K T, and tighter where a gradient cancels."""
    from nnparity.reference.layered_terms import abs_grads, depth_factor

    spec = Spec.parse(text)
    net = build(spec)
    p, (X, y) = net.init_params(), make_data(spec)
    state = net.init_state(p)
    masks = net.forward(p, X, buffers=state.buffers)[1].masks
    T = abs_grads(spec, p, X, y, state, masks)
    E = abs_grads(spec, p, X, y, state, masks, errors=True)
    K = depth_factor(spec)
    assert set(E) == set(T)
    for n in T:
        assert np.all(E[n] <= K * T[n] * (1 + 1e-12)) and np.all(E[n] >= 0), n
    assert any(np.any(E[n] < 0.9 * K * T[n]) for n in T)
