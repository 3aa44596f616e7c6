"""Losses: gradients against finite differences (float64, both reductions), values against
hand formulas and CONVENTIONS.md section 2, and stability for logits up to |1e4|."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scratch_testing import act, loss_fn, loss_inputs, numgrad

from nnparity.scratch import SpecError, losses

REDUCTIONS = [(n, r) for n in losses.names() for r in ("mean", "sum", "batch")]


def _value(name, a, y, **kw):
    return loss_fn(name, **kw).value(np.asarray(a, dtype=float), y)


def _grad(name, a, y, **kw):
    return loss_fn(name, **kw).grad(np.asarray(a, dtype=float), y)


@pytest.mark.parametrize(("name", "reduction"), REDUCTIONS)
def test_every_loss_has_mean_and_sum(name, reduction):
    assert losses[name].defaults["reduction"] == "mean"  # PyTorch's default


@pytest.mark.parametrize(("name", "reduction"), REDUCTIONS)
@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_grad_matches_finite_differences(name, reduction, scale, rng):
    loss = loss_fn(name, reduction=reduction)
    a, y = loss_inputs(name, rng, scale=scale)
    if name == "huber":  # keep |a - y| away from the kink at delta
        d = a - y
        a = np.where(np.abs(np.abs(d) - 1.0) < 1e-3, a + 0.01, a)
    room = np.minimum(a, 1 - a) if loss.expects == "sigmoid" else None
    num = numgrad(lambda x: loss.value(x, y), a, rel=1e-4 if room is not None else 1e-6, room=room)
    np.testing.assert_allclose(loss.grad(a, y), num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", losses.names())
def test_sum_is_mean_times_the_divisor(name, rng):
    a, y = loss_inputs(name, rng)
    by_batch = losses[name].build().target == "class" and name != "multi_margin"
    by_batch = by_batch or name in ("half_sse", "sse")  # multi_margin: over B * K
    n = a.shape[0] if by_batch else a.size
    mean, total = loss_fn(name), loss_fn(name, reduction="sum")
    assert total.value(a, y) == pytest.approx(n * mean.value(a, y), rel=1e-14)
    np.testing.assert_allclose(total.grad(a, y), n * mean.grad(a, y), rtol=1e-14)


@pytest.mark.parametrize("name", losses.names())
def test_batch_is_the_sum_over_the_samples(name, rng):
    """'batch': each sample's loss summed over its outputs, averaged over the B samples."""
    a, y = loss_inputs(name, rng)
    per, total = loss_fn(name, reduction="batch"), loss_fn(name, reduction="sum")
    B = a.shape[0]
    assert total.value(a, y) == pytest.approx(B * per.value(a, y), rel=1e-14)
    np.testing.assert_allclose(total.grad(a, y), B * per.grad(a, y), rtol=1e-14)


@pytest.mark.parametrize("name", losses.names())
def test_value_is_a_python_float_and_grad_keeps_shape(name, rng):
    a, y = loss_inputs(name, rng)
    loss = loss_fn(name)
    assert type(loss.value(a, y)) is float
    assert loss.grad(a, y).shape == a.shape


# -- values against hand formulas --------------------------------------------------------
def test_mse_is_the_mean_over_all_elements(rng):
    a, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert _value("mse", a, y) == pytest.approx(((a - y) ** 2).sum() / 12, rel=1e-14)
    np.testing.assert_allclose(_grad("mse", a, y), 2 * (a - y) / 12, rtol=1e-14)


def test_sse_is_the_squared_error_summed_over_outputs_averaged_over_samples(rng):
    a, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert _value("sse", a, y) == pytest.approx(np.mean(np.sum((a - y) ** 2, axis=1)), rel=1e-14)
    assert _value("sse", a, y) == pytest.approx(2 * _value("half_sse", a, y), rel=1e-14)
    np.testing.assert_allclose(_grad("sse", a, y), 2 * (a - y) / 4, rtol=1e-14)


def test_half_sse_is_the_textbook_form_and_d_over_2_times_mse(rng):
    a, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert _value("half_sse", a, y) == pytest.approx(0.5 * ((a - y) ** 2).sum() / 4, rel=1e-14)
    assert _value("half_sse", a, y) == pytest.approx(1.5 * _value("mse", a, y), rel=1e-14)
    np.testing.assert_allclose(_grad("half_sse", a, y), (a - y) / 4, rtol=1e-14)


def test_huber_quadratic_inside_linear_outside():
    a, y = np.array([[0.5, 3.0, -2.0]]), np.zeros((1, 3))
    assert _value("huber", a, y) == pytest.approx((0.125 + 2.5 + 1.5) / 3, rel=1e-15)
    np.testing.assert_allclose(_grad("huber", a, y), [[0.5 / 3, 1 / 3, -1 / 3]], rtol=1e-15)
    assert _value("huber", a, y, delta=2.0) == pytest.approx((0.125 + 4.0 + 2.0) / 3, rel=1e-15)


def test_bce_matches_the_formula(rng):
    p, y = rng.uniform(0.05, 0.95, (6, 1)), rng.uniform(0, 1, (6, 1))
    want = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    assert _value("bce", p, y) == pytest.approx(want, rel=1e-14)
    np.testing.assert_allclose(_grad("bce", p, y), (p - y) / (p * (1 - p)) / 6, rtol=1e-13)


def test_bce_clamps_the_log_at_minus_100_as_pytorch():
    assert _value("bce", [[0.0]], np.array([[1.0]])) == 100.0
    assert _value("bce", [[1e-50]], np.array([[1.0]])) == 100.0  # naive log gives 115.13
    assert _value("bce", [[1.0]], np.array([[0.0]])) == 100.0
    assert _value("bce", [[0.0]], np.array([[0.0]])) == 0.0


def test_bce_grad_clamps_p_times_1_minus_p_at_float32_epsilon():
    """PyTorch's EPSILON is a float constant 1e-12, so 1/EPSILON = 1.000000004e12."""
    g = _grad("bce", [[0.0]], np.array([[1.0]]))[0, 0]
    assert g == pytest.approx(-1000000003995.8, rel=1e-13)


def test_bce_with_logits_matches_sigmoid_then_bce(rng):
    z, y = rng.standard_normal((6, 1)), rng.uniform(0, 1, (6, 1))
    p = 1 / (1 + np.exp(-z))
    want = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    assert _value("bce_with_logits", z, y) == pytest.approx(want, rel=1e-13)
    np.testing.assert_allclose(_grad("bce_with_logits", z, y), (p - y) / 6, rtol=1e-13)


@pytest.mark.parametrize(
    ("z", "t", "value", "grad"),
    [
        (1000.0, 0.0, 1000.0, 1.0),
        (-1000.0, 1.0, 1000.0, -1.0),
        (1000.0, 1.0, 0.0, 0.0),
        (30.0, 1.0, 9.357622968839737e-14, None),
        (0.0, 1.0, math.log(2.0), -0.5),
    ],
)
def test_bce_with_logits_measured_values(z, t, value, grad):
    zz, tt = np.array([[z], [z]]), np.array([[t], [t]])
    assert _value("bce_with_logits", zz, tt) == pytest.approx(value, rel=1e-14, abs=1e-300)
    if grad is not None:
        np.testing.assert_allclose(_grad("bce_with_logits", zz, tt), [[grad / 2]] * 2, rtol=1e-15)


def test_cross_entropy_matches_minus_log_softmax_of_the_class(rng):
    z, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert _value("cross_entropy", z, y) == pytest.approx(-np.log(p[range(5), y]).mean(), 1e-14)
    np.testing.assert_allclose(_grad("cross_entropy", z, y), (p - np.eye(4)[y]) / 5, rtol=1e-13)


def test_cross_entropy_at_a_gap_of_1000():
    z = np.array([[0.0, -1000.0], [0.0, -1000.0]])
    y = np.array([1, 1])
    assert _value("cross_entropy", z, y) == 1000.0
    np.testing.assert_array_equal(_grad("cross_entropy", z, y), [[0.5, -0.5]] * 2)


def test_cross_entropy_label_smoothing_uses_the_smoothed_target(rng):
    z, y, eps = rng.standard_normal((5, 4)), rng.integers(0, 4, 5), 0.1
    q = (1 - eps) * np.eye(4)[y] + eps / 4
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    p = np.exp(logp)
    ls = {"label_smoothing": eps}
    assert _value("cross_entropy", z, y, **ls) == pytest.approx(-(q * logp).sum() / 5, rel=1e-14)
    np.testing.assert_allclose(_grad("cross_entropy", z, y, **ls), (p - q) / 5, rtol=1e-13)


def test_nll_picks_the_log_probability_of_the_class_and_checks_nothing():
    logp, y = np.log(np.array([[0.7, 0.3], [0.2, 0.8]])), np.array([0, 1])
    assert _value("nll", logp, y) == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2, rel=1e-15)
    np.testing.assert_array_equal(_grad("nll", logp, y), [[-0.5, 0.0], [0.0, -0.5]])
    assert _value("nll", [[0.7, 0.3]], np.array([0])) == pytest.approx(-0.7)  # silently


def test_nll_after_log_softmax_equals_cross_entropy(rng):
    z, y = 50 * rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    logp = act("log_softmax").f(z)
    assert _value("nll", logp, y) == pytest.approx(_value("cross_entropy", z, y), rel=1e-14)
    chained = act("log_softmax").vjp(z, logp, _grad("nll", logp, y))
    np.testing.assert_allclose(chained, _grad("cross_entropy", z, y), rtol=1e-12, atol=1e-16)


# -- saturation through sigmoid -> bce (CONVENTIONS.md section 2) -------------------------
def _sigmoid_bce(z, t):
    z, t = np.array([[z]]), np.array([[t]])
    p = act("sigmoid").f(z)
    dz = act("sigmoid").vjp(z, p, _grad("bce", p, t))
    return _value("bce", p, t), dz[0, 0]


def test_sigmoid_bce_saturates_as_pytorch():
    assert _sigmoid_bce(40.0, 0.0) == (100.0, 0.0)
    loss, grad = _sigmoid_bce(-40.0, 1.0)
    assert loss == pytest.approx(40.0, rel=1e-15)
    assert grad == pytest.approx(-4.25e-6, rel=1e-3)
    # once sigmoid(z)(1 - sigmoid(z)) < 1e-12 the clamp gives a wrong gradient (true: about -1)
    assert _sigmoid_bce(-28.0, 1.0)[1] == pytest.approx(-0.691, rel=1e-3)
    assert _sigmoid_bce(-30.0, 1.0)[1] == pytest.approx(-0.094, rel=1e-2)


# -- stability: logits up to |1e4| in both dtypes ----------------------------------------
@pytest.mark.parametrize(("name", "reduction"), REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_values_and_grads_for_huge_logits(name, reduction, dtype):
    loss = loss_fn(name, reduction=reduction)
    units = 3
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, -30.0, 1e4]], dtype=dtype)[:, :units]
    out_act = act(loss.expects or "identity")
    a = out_act.f(z)
    if loss.target == "class":
        y = np.array([1, 0, 2])[: len(z)] % units
    elif loss.target == "probability":
        y = np.array([[0.0], [1.0], [1.0]], dtype=dtype)
    else:
        y = np.full_like(z, -1e4)
    with np.errstate(over="raise", invalid="raise"):
        value = loss.value(a, y)
        dz = out_act.vjp(z, a, loss.grad(a, y))
    assert math.isfinite(value)
    assert np.isfinite(dz).all() and dz.dtype == dtype


@pytest.mark.parametrize("name", losses.names())
def test_float32_grads_stay_float32(name, rng):
    a, y = loss_inputs(name, rng, dtype=np.float32)
    assert loss_fn(name).grad(a, y).dtype == np.float32


@pytest.mark.parametrize(
    ("name", "kw", "match"),
    [
        ("mse", {"reduction": "none"}, "reduction must be 'mean', 'batch' or 'sum'"),
        ("huber", {"delta": 0.0}, "huber delta must be > 0"),
        ("cross_entropy", {"label_smoothing": 1.5}, r"label_smoothing must lie in \[0, 1\]"),
    ],
)
def test_bad_hyperparameters_fail_when_built(name, kw, match):
    with pytest.raises(SpecError, match=match):
        loss_fn(name, **kw)


def test_cross_entropy_is_finite_with_a_minus_inf_logit_off_the_target():
    """A masked logit (-inf) on another class: log(1 + e) as PyTorch gives, not 0 * -inf."""
    ce = losses["cross_entropy"].build({})
    z, y = np.array([[0.0, -np.inf, 1.0]]), np.array([0])
    assert ce.value(z, y) == pytest.approx(np.log1p(np.e), rel=1e-15)
    smoothed = losses["cross_entropy"].build({"label_smoothing": 0.1})
    assert smoothed.value(z, y) == np.inf  # every class carries weight: -inf counts


@pytest.mark.parametrize(("name", "reduction"), REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_value_and_grad_is_value_and_grad_to_the_bit(name, reduction, dtype, rng):
    """The one-pass ``value_and_grad`` (the squared losses') changes no bit of either, and
    leaves its inputs alone."""
    loss = loss_fn(name, reduction=reduction)
    a, y = loss_inputs(name, rng, dtype=dtype)
    a0, y0 = a.copy(), y.copy()
    value, grad = loss.value_and_grad(a, y)
    assert value == loss.value(a, y)
    np.testing.assert_array_equal(grad, loss.grad(a, y), strict=True)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("wrapped", [False, True])
@pytest.mark.parametrize("field", ["value", "grad"])
def test_value_and_grad_runs_a_replaced_value_or_grad(field, wrapped, rng):
    """A loss with its value or grad swapped (``_replace``, as the planted-bug tests do) is not
    bypassed by the fused pass made with the originals."""
    loss = loss_fn("mse")
    assert getattr(loss.grad, "fused", None) is not None  # the fast path exists to bypass
    a, y = loss_inputs("mse", rng)
    original = getattr(loss, field)
    plant = lambda a, y: 2 * original(a, y)  # noqa: E731
    if wrapped:  # functools.wraps copies the original's attributes, its fused tag too
        plant = functools.wraps(original)(plant)
        assert getattr(plant, "fused", None) is not None
    doubled = loss._replace(**{field: plant})
    value, grad = doubled.value_and_grad(a, y)
    want_v, want_g = loss.value(a, y), loss.grad(a, y)
    assert value == (2 * want_v if field == "value" else want_v)
    np.testing.assert_array_equal(grad, 2 * want_g if field == "grad" else want_g)


@pytest.mark.parametrize("name", losses.names())
def test_the_gradient_is_a_fresh_array(name, rng):
    """A training step writes tanh's dz over dL/da (``activations.in_place``): no loss may hand
    back its output or its target, or a view of either."""
    loss = loss_fn(name)
    a, y = loss_inputs(name, rng)
    for g in (loss.grad(a, y), loss.value_and_grad(a, y)[1]):
        assert not np.shares_memory(g, a) and not np.shares_memory(g, y)
