"""Activations: VJPs against central finite differences (float64), PyTorch's gradients at
kinks, values measured in CONVENTIONS.md section 1, and stability at |z| up to 1e4."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scratch_testing import act, vjp_fd

from nnparity.scratch import activations
from nnparity.scratch.activations import SELU_ALPHA, SELU_SCALE

# Every registered variant with its defaults, plus non-default hyperparameters.
CASES = [(name, {}) for name in activations.names()] + [
    ("leaky_relu", {"slope": 0.2}),
    ("leaky_relu", {"slope": -0.5}),
    ("elu", {"alpha": 2.0}),
    ("elu", {"alpha": 0.3}),
    ("gelu", {"approximate": "tanh"}),
    ("softplus", {"beta": 2.0, "threshold": 10.0}),
    ("softplus", {"beta": 0.5}),
    ("hardtanh", {"min_val": 0.0, "max_val": 6.0}),
    ("hardtanh", {"min_val": -2.5, "max_val": 0.5}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in CASES]
EXTREMES = [-1e4, -800.0, -100.0, -30.0, -20.5, -5.0, 5.0, 20.5, 30.0, 100.0, 800.0, 1e4]


def kinks(name, kw):
    """Points where the derivative jumps (finite differences straddling them are meaningless)."""
    defaults = {**activations[name].defaults, **kw}
    if name in ("relu", "leaky_relu", "elu", "selu"):
        return [0.0]
    if name == "hardtanh":
        return [defaults["min_val"], defaults["max_val"]]
    if name == "softplus":
        return [defaults["threshold"] / defaults["beta"]]
    return []


def away_from_kinks(z, points, gap=1e-3):
    for k in points:
        z = np.where(np.abs(z - k) < gap, k + 10 * gap, z)
    return z


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_vjp_matches_finite_differences(name, kw, rng):
    a = act(name, **kw)
    z = away_from_kinks(3.0 * rng.standard_normal((3, 5)), kinks(name, kw))
    g = rng.standard_normal(z.shape)
    np.testing.assert_allclose(a.vjp(z, a.f(z), g), vjp_fd(a.f, z, g), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_vjp_at_extremes(name, kw, rng):
    a = act(name, **kw)
    z = away_from_kinks(np.array([EXTREMES]), kinks(name, kw))
    rel = 1e-6
    if "output" in activations[name].tags:  # shift-invariant: the step must not grow with |z|
        z = np.array([[-30.0, -5.0, 0.0, 5.0, 30.0], [1e4, 1e4 - 1, 1e4 - 3, 9e3, -1e4]])
        rel = 1e-8
    g = rng.standard_normal(z.shape)
    np.testing.assert_allclose(a.vjp(z, a.f(z), g), vjp_fd(a.f, z, g, rel), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_at_large_inputs_without_warnings(name, kw, dtype):
    a = act(name, **kw)
    z = np.array([[-1e4, -1e3, -100.0, -30.0, 0.0, 30.0, 100.0, 1e3, 1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = a.f(z)
        dz = a.vjp(z, out, np.ones_like(z))
    assert out.dtype == dtype and dz.dtype == dtype
    assert out.shape == z.shape and dz.shape == z.shape
    assert np.isfinite(out).all() and np.isfinite(dz).all()


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_float32_in_float32_out(name, kw, rng):
    a = act(name, **kw)
    z = rng.standard_normal((4, 3)).astype(np.float32)
    out = a.f(z)
    dz = a.vjp(z, out, np.ones_like(out))
    assert (out.dtype, dz.dtype) == (np.float32, np.float32)
    np.testing.assert_allclose(out, a.f(z.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_numpy_scalar_hyperparameters_do_not_upcast_float32():
    leaky = activations["leaky_relu"].build({"slope": np.float64(0.2)})
    z = np.array([[-1.0, 2.0]], dtype=np.float32)
    assert leaky.f(z).dtype == np.float32
    assert leaky.vjp(z, leaky.f(z), np.ones_like(z)).dtype == np.float32


@pytest.mark.parametrize("name", activations.names("elementwise"))
def test_elementwise_variants_act_per_element(name, rng):
    """An elementwise variant's value at one entry does not depend on the others."""
    a = act(name)
    z = rng.standard_normal((3, 4))
    alone = np.array([[a.f(z[i : i + 1, j : j + 1])[0, 0] for j in range(4)] for i in range(3)])
    np.testing.assert_array_equal(a.f(z), alone)


# -- gradients at kinks: PyTorch's convention (CONVENTIONS.md section 1) -------------------
@pytest.mark.parametrize(
    ("name", "kw", "z", "grad"),
    [
        ("relu", {}, 0.0, 0.0),
        ("leaky_relu", {}, 0.0, 0.01),
        ("leaky_relu", {"slope": 0.2}, 0.0, 0.2),
        ("elu", {}, 0.0, 1.0),
        ("elu", {"alpha": 2.0}, 0.0, 2.0),
        ("selu", {}, 0.0, SELU_SCALE * SELU_ALPHA),
        ("hardtanh", {}, -1.0, 0.0),
        ("hardtanh", {}, 1.0, 0.0),
        ("hardtanh", {"min_val": 0.0, "max_val": 6.0}, 0.0, 0.0),
        ("hardtanh", {"min_val": 0.0, "max_val": 6.0}, 6.0, 0.0),
        ("softplus", {}, 20.0, 1.0 / (1.0 + math.exp(-20.0))),  # 20 is not above threshold
        ("softplus", {}, 20.5, 1.0),
        ("softplus", {"beta": 2.0}, 10.5, 1.0),
    ],
)
def test_gradient_at_kink_follows_pytorch(name, kw, z, grad):
    a = act(name, **kw)
    x = np.array([[z]])
    assert a.vjp(x, a.f(x), np.ones_like(x))[0, 0] == pytest.approx(grad, rel=1e-15, abs=0)


def test_selu_constant_times_alpha():
    assert SELU_SCALE * SELU_ALPHA == pytest.approx(1.7580993408473766, rel=1e-15)


# -- values measured in CONVENTIONS.md section 1 --------------------------------------------
@pytest.mark.parametrize(
    ("name", "kw", "z", "value", "grad"),
    [
        ("sigmoid", {}, 0.0, 0.5, 0.25),
        ("sigmoid", {}, -800.0, 0.0, 0.0),
        ("tanh", {}, 20.0, 1.0, 0.0),
        ("selu", {}, 1.0, 1.0507009873554805, SELU_SCALE),
        ("selu", {}, -1.0, -1.1113307378125625, None),
        ("gelu", {}, 1.0, 0.841344746068543, 1.0833154705876864),
        ("gelu", {"approximate": "tanh"}, 1.0, 0.8411919906082768, 1.0829640838457826),
        ("gelu", {}, -10.0, 0.0, None),
        ("silu", {}, 1.0, 0.7310585786300049, 0.9276705118714869),
        ("mish", {}, 1.0, 0.8650983882673103, 1.0490362200997922),
        ("softplus", {}, 20.0, 20.000000002061153, None),
        ("softplus", {}, 20.5, 20.5, None),  # PyTorch returns x above the threshold
        ("softplus", {"beta": 2.0}, 10.5, 10.5, None),
        ("softplus", {}, -40.0, 4.248354255291589e-18, None),  # naive log(1+e^x) gives 0
        ("elu", {"alpha": 2.0}, -1.0, 2.0 * math.expm1(-1.0), 2.0 * math.exp(-1.0)),
        ("leaky_relu", {}, -3.0, -0.03, 0.01),
        ("hardtanh", {}, -3.0, -1.0, 0.0),
        ("hardtanh", {}, 0.5, 0.5, 1.0),
        ("identity", {}, -7.0, -7.0, 1.0),
    ],
)
def test_known_values(name, kw, z, value, grad):
    a = act(name, **kw)
    x = np.array([[z]])
    out = a.f(x)
    assert out[0, 0] == pytest.approx(value, rel=1e-15, abs=1e-300)
    if grad is not None:
        assert a.vjp(x, out, np.ones_like(x))[0, 0] == pytest.approx(grad, rel=1e-14, abs=1e-300)


def test_gelu_exact_and_tanh_forms_differ_by_at_most_5e_4():
    z = np.linspace(-6, 6, 2001)[None, :]
    gap = np.abs(act("gelu").f(z) - act("gelu", approximate="tanh").f(z)).max()
    assert 4.6e-4 < gap < 4.8e-4  # measured 4.73e-4: the two forms are different functions


def test_softmax_and_log_softmax_are_max_shifted():
    p = act("softmax").f(np.array([[1000.0, 1001.0, 1002.0]]))
    np.testing.assert_allclose(p, [[0.09003057, 0.24472847, 0.66524096]], rtol=1e-7)
    logp = act("log_softmax").f(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_array_equal(logp, [[0.0, -1000.0, -2000.0]])


def test_softmax_normalises_over_units_per_row(rng):
    z = rng.standard_normal((4, 6)) * 10
    p = act("softmax").f(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.exp(act("log_softmax").f(z)), p, rtol=1e-13)


def test_hardtanh_rejects_empty_interval():
    from nnparity.scratch import SpecError

    with pytest.raises(SpecError, match="hardtanh needs min_val < max_val"):
        act("hardtanh", min_val=1.0, max_val=1.0)


def test_softmax_and_log_softmax_run_over_axis_1_of_any_rank():
    z = np.random.default_rng(0).standard_normal((2, 3, 4))
    sm, lsm = (activations[n].build({}) for n in ("softmax", "log_softmax"))
    np.testing.assert_allclose(sm.f(z).sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.exp(lsm.f(z)), sm.f(z), rtol=1e-14)
