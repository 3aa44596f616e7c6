"""Initializers: shapes, dtype, determinism, moments and bounds within statistical tolerance
(15,000 draws, tolerances about 5 standard errors), orthogonality, and fans for scratch's
(in, out) layout (CONVENTIONS.md section 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnparity.scratch import Spec, SpecError, build, initializers
from nnparity.scratch.initializers import gain

FAN_IN, FAN_OUT = 300, 50
SHAPE = (FAN_IN, FAN_OUT)  # scratch's layout: (in, out), so fan_in = shape[0]
TRUNC = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def draw(name, shape=SHAPE, seed=0, **kw):
    init = initializers[name].build(kw)
    return init(np.random.default_rng(seed), shape, FAN_IN, FAN_OUT)


@pytest.mark.parametrize("name", initializers.names())
@pytest.mark.parametrize("shape", [SHAPE, (FAN_OUT,), (FAN_OUT, FAN_IN)])
def test_shape_dtype_and_determinism(name, shape):
    w = draw(name, shape)
    assert w.shape == shape and w.dtype == np.float64
    assert np.isfinite(w).all()
    np.testing.assert_array_equal(w, draw(name, shape))  # same seed, same bytes


@pytest.mark.parametrize("name", sorted(set(initializers.names()) - {"zeros", "constant"}))
def test_random_initializers_use_the_given_generator_only(name):
    np.random.seed(7)
    before = np.random.random()
    np.random.seed(7)
    rng = np.random.default_rng(0)
    first = initializers[name].build()(rng, SHAPE, FAN_IN, FAN_OUT)
    assert np.random.random() == before  # the global RNG is not touched
    assert not np.array_equal(first, initializers[name].build()(rng, SHAPE, FAN_IN, FAN_OUT))
    assert not np.array_equal(draw(name, seed=0), draw(name, seed=1))


def test_zeros_and_constant():
    assert not draw("zeros").any()
    assert (draw("constant") == 0.1).all()
    assert (draw("constant", value=-2.5) == -2.5).all()


# (name, kwargs, kind, parameter): "uniform" -> symmetric bound, "normal" -> std.
SYMMETRIC = [
    ("xavier_uniform", {}, "uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("xavier_uniform", {"gain": 2.0}, "uniform", 2 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("xavier_normal", {}, "normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("kaiming_uniform", {}, "uniform", math.sqrt(6 / FAN_IN)),
    ("kaiming_uniform", {"mode": "fan_out"}, "uniform", math.sqrt(6 / FAN_OUT)),
    ("kaiming_uniform", {"a": math.sqrt(5)}, "uniform", 1 / math.sqrt(FAN_IN)),
    ("kaiming_uniform", {"nonlinearity": "tanh"}, "uniform", math.sqrt(3) * 5 / 3 / 300**0.5),
    ("kaiming_normal", {}, "normal", math.sqrt(2 / FAN_IN)),
    ("kaiming_normal", {"mode": "fan_out"}, "normal", math.sqrt(2 / FAN_OUT)),
    ("kaiming_normal", {"nonlinearity": "relu", "a": 3.0}, "normal", math.sqrt(2 / FAN_IN)),
    ("kaiming_normal", {"nonlinearity": "selu"}, "normal", 0.75 / math.sqrt(FAN_IN)),
    ("lecun_normal", {}, "truncated", math.sqrt(1 / FAN_IN)),
    ("torch_default", {}, "uniform", 1 / math.sqrt(FAN_IN)),
    ("normal", {}, "normal", 1.0),
    ("normal", {"std": 0.02}, "normal", 0.02),
    ("trunc_normal", {"std": 0.02}, "normal", 0.02),  # [-2, 2] absolute: no real truncation
    ("uniform", {"a": -3.0, "b": 3.0}, "uniform", 3.0),
]


@pytest.mark.parametrize(("name", "kw", "kind", "scale"), SYMMETRIC)
def test_moments_and_bounds(name, kw, kind, scale):
    w = draw(name, **kw)
    n = w.size
    std = scale / math.sqrt(3) if kind == "uniform" else scale
    assert abs(w.mean()) < 5 * std / math.sqrt(n)
    assert w.std() == pytest.approx(std, rel=5 / math.sqrt(2 * n))
    if kind == "uniform":
        assert np.abs(w).max() <= scale
        assert np.abs(w).max() > 0.999 * scale
    if kind == "truncated":  # std exactly `scale`, range 2 scale / 0.8796...
        bound = 2 * scale / TRUNC
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound


def test_uniform_and_normal_with_offsets():
    w = draw("uniform", a=-1.0, b=3.0)
    assert w.min() >= -1 and w.max() <= 3
    assert w.mean() == pytest.approx(1.0, abs=5 * (4 / 12**0.5) / 15000**0.5)
    w = draw("normal", mean=2.0, std=3.0)
    assert w.mean() == pytest.approx(2.0, abs=5 * 3 / 15000**0.5)
    assert w.std() == pytest.approx(3.0, rel=0.03)


def test_trunc_normal_bounds_are_absolute_and_std_is_not_rescaled():
    w = draw("trunc_normal")
    assert w.min() >= -2 and w.max() <= 2 and w.max() > 1.99
    assert w.std() == pytest.approx(TRUNC, rel=0.03)  # PyTorch: 0.879
    w = draw("trunc_normal", mean=1.0, a=0.5, b=1.5)
    assert w.min() >= 0.5 and w.max() <= 1.5
    assert w.mean() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"a": 2.0, "b": -2.0}, "trunc_normal needs a < b, got a=2.0, b=-2.0"),
        ({"a": 1.0, "b": 1.0}, "trunc_normal needs a < b"),
        ({"std": 0.0}, "trunc_normal std must be > 0"),
    ],
)
def test_trunc_normal_rejects_bad_bounds_when_built(kw, match):
    with pytest.raises(SpecError, match=match):
        initializers["trunc_normal"].build(kw)


@pytest.mark.parametrize(
    ("a", "b", "mean", "std"),
    [
        (10.0, 20.0, 10.0981, 0.0962),  # the tail: E[x | x > 10] = phi(10)/(1 - Phi(10))
        (-1e-3, 1e-3, 0.0, 2e-3 / 12**0.5),  # narrow: almost uniform
        (0.5, 0.6, 0.54954, 0.1 / 12**0.5),
    ],
)
def test_trunc_normal_with_little_mass_in_the_interval(a, b, mean, std):
    w = draw("trunc_normal", a=a, b=b)
    assert w.shape == SHAPE and w.min() >= a and w.max() <= b
    assert w.mean() == pytest.approx(mean, abs=5 * std / w.size**0.5 + 1e-4)
    assert w.std() == pytest.approx(std, rel=0.05)


@pytest.mark.parametrize(
    ("shape", "product"),
    [((300, 50), "WtW"), ((50, 300), "WWt"), ((40, 40), "both")],
)
@pytest.mark.parametrize("g", [1.0, 2.0])
def test_orthogonal(shape, product, g):
    w = draw("orthogonal", shape, gain=g)
    small = min(shape)
    if product in ("WtW", "both"):
        np.testing.assert_allclose(w.T @ w, g * g * np.eye(small), atol=1e-12)
    if product in ("WWt", "both"):
        np.testing.assert_allclose(w @ w.T, g * g * np.eye(small), atol=1e-12)


def test_orthogonal_vector_has_unit_norm():
    assert np.linalg.norm(draw("orthogonal", (FAN_OUT,))) == pytest.approx(1.0, rel=1e-14)


@pytest.mark.parametrize(
    ("nonlinearity", "a", "value"),
    [
        ("linear", 0.0, 1.0),
        ("sigmoid", 0.0, 1.0),
        ("tanh", 0.0, 5 / 3),
        ("relu", 0.0, math.sqrt(2)),
        ("selu", 0.0, 0.75),
        ("leaky_relu", 0.0, math.sqrt(2)),
        ("leaky_relu", 0.01, 1.41414),
        ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)),
    ],
)
def test_gain_is_pytorchs_calculate_gain(nonlinearity, a, value):
    assert gain(nonlinearity, a) == pytest.approx(value, rel=1e-5)


def test_unknown_nonlinearity_lists_the_known_ones():
    with pytest.raises(SpecError, match="unknown nonlinearity 'gelu'.*known: linear"):
        initializers["kaiming_normal"].build({"nonlinearity": "gelu"})


@pytest.mark.parametrize(
    ("init", "std"),
    [
        ("kaiming_normal", math.sqrt(2 / 300)),  # with the fans swapped: sqrt(2/50), 2.4x
        ("kaiming_normal(mode=fan_out)", math.sqrt(2 / 50)),
        ("lecun_normal", math.sqrt(1 / 300)),
        ("torch_default", 1 / math.sqrt(3 * 300)),
    ],
)
def test_model_passes_fans_for_the_in_out_layout(init, std):
    spec = Spec.parse(f"300-50 identity init={init}")
    params = build(spec).init_params()
    assert params["W1"].shape == (300, 50)
    assert params["W1"].std() == pytest.approx(std, rel=0.03)
    # the default bias init is nn.Linear's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = 300
    assert np.abs(params["b1"]).max() <= 1 / math.sqrt(300)
