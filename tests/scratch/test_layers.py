"""Every layer's hand-written backward against central finite differences in float64 (no
torch): conv with stride 2 and padding, pooling with overlapping windows and ties, batchnorm
at batch 2 and in eval mode, layernorm, dropout with its fixed mask."""

from __future__ import annotations

import numpy as np
import pytest
from scratch_testing import vjp_fd

from nnparity.scratch.layers import (
    avgpool2d,
    avgpool2d_vjp,
    batchnorm_forward,
    batchnorm_vjp,
    conv2d,
    conv2d_vjp,
    layernorm_forward,
    layernorm_vjp,
    layers,
    maxpool2d,
    maxpool2d_vjp,
)
from nnparity.scratch.layers.base import Ctx


def close(a, b, tol=1e-7):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad"),
    [
        ((2, 3, 5, 6), (4, 3, 3, 3), 1, 0),
        ((2, 2, 7, 6), (3, 2, 3, 3), 2, 1),  # stride 2 and padding
        ((1, 2, 5, 5), (2, 2, 2, 3), 2, 2),  # non-square kernel, padding wider than needed
        ((3, 1, 4, 4), (2, 1, 4, 4), 1, 0),  # kernel as large as the input
    ],
    ids=["s1p0", "s2p1", "nonsquare-s2p2", "full-kernel"],
)
def test_conv2d_vjp_matches_finite_differences(rng, x_shape, w_shape, stride, pad):
    x, W, b = (
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
    )
    y, cache = conv2d(x, W, b, stride, pad)
    g = rng.standard_normal(y.shape)
    dx, dW, db = conv2d_vjp(cache, W, g, stride, pad)
    close(dx, vjp_fd(lambda v: conv2d(v, W, b, stride, pad)[0], x, g))
    close(dW, vjp_fd(lambda v: conv2d(x, v, b, stride, pad)[0], W, g))
    close(db, vjp_fd(lambda v: conv2d(x, W, v, stride, pad)[0], b, g))


def test_conv2d_is_cross_correlation_with_pytorchs_output_size():
    """By hand: no kernel flip; output side floor((H + 2p - k)/s) + 1."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    W = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    y, _ = conv2d(x, W, None, stride=2, pad=1)
    assert y.shape == (1, 1, 3, 3)
    # window at output (1, 1) covers x[1:3, 1:3] = [[5, 6], [9, 10]]
    assert y[0, 0, 1, 1] == 1 * 5 + 2 * 6 + 3 * 9 + 4 * 10
    # output (0, 0): only x[0, 0] = 0 lies under W[1, 1] (the rest is padding)
    assert y[0, 0, 0, 0] == 4 * 0.0 and y[0, 0, 0, 1] == 3 * 1 + 4 * 2


@pytest.mark.parametrize(("k", "stride"), [(2, 2), (3, 2), (2, 1), (3, 1)])
def test_pooling_vjp_matches_finite_differences(rng, k, stride):
    """Overlapping windows (stride < k) included: their gradients add up."""
    x = rng.standard_normal((2, 3, 7, 6))
    for fwd, vjp in ((maxpool2d, maxpool2d_vjp), (avgpool2d, avgpool2d_vjp)):
        y, cache = fwd(x, k, stride)
        g = rng.standard_normal(y.shape)
        close(vjp(cache, g, k, stride), vjp_fd(lambda v, fwd=fwd: fwd(v, k, stride)[0], x, g))


def test_maxpool_ties_go_to_the_first_maximum_in_scan_order_and_overlaps_add():
    x = np.array([[[[1.0, 5.0, 5.0], [5.0, 2.0, 0.0], [0.0, 0.0, 0.0]]]])
    y, cache = maxpool2d(x, 2, 1)  # four overlapping 2x2 windows
    assert y[0, 0].tolist() == [[5.0, 5.0], [5.0, 2.0]]
    dx = maxpool2d_vjp(cache, np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]), 2, 1)
    # window (0,0) ties at (0,1),(1,0): first in scan order is (0,1); window (0,1) ties at
    # (0,1),(0,2): (0,1) again, so the two add; window (1,0): (1,0); window (1,1): (1,1)
    expected = np.zeros((3, 3))
    expected[0, 1], expected[1, 0], expected[1, 1] = 1.0 + 10.0, 100.0, 1000.0
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_maxpool_nan_counts_as_the_maximum():
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    y, cache = maxpool2d(x, 2, 2)
    assert np.isnan(y).all()
    dx = maxpool2d_vjp(cache, np.ones((1, 1, 1, 1)), 2, 2)
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 1.0], [0.0, 0.0]])


def test_avgpool_divides_by_the_window_size():
    x = np.ones((1, 1, 4, 4))
    y, cache = avgpool2d(x, 2, 2)
    np.testing.assert_array_equal(y, np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(avgpool2d_vjp(cache, np.ones((1, 1, 2, 2)), 2, 2), x / 4)


@pytest.mark.parametrize("shape", [(2, 3), (5, 4), (2, 3, 2, 2), (3, 2, 3, 4)])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_batchnorm_vjp_matches_finite_differences(rng, shape, train):
    """Batch 2 included: there the true dx is nearly zero, so the tolerance scales with the
    largest gradient entry, not with each entry."""
    c = shape[1]
    x = rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)

    def f(x_, gamma_=gamma, beta_=beta):
        return batchnorm_forward(x_, gamma_, beta_, rm, rv, train)[0]

    y, cache, _ = batchnorm_forward(x, gamma, beta, rm, rv, train)
    g = rng.standard_normal(y.shape)
    dx, dgamma, dbeta = batchnorm_vjp(cache, gamma, g)
    close(dx, vjp_fd(f, x, g), tol=1e-6)
    close(dgamma, vjp_fd(lambda v: f(x, v), gamma, g))
    close(dbeta, vjp_fd(lambda v: f(x, gamma, v), beta, g))


def test_batchnorm_normalises_with_the_biased_variance_and_stores_the_unbiased_one(rng):
    x = rng.standard_normal((4, 3, 2, 2))
    gamma, beta = np.ones(3), np.zeros(3)
    rm, rv = np.full(3, 0.5), np.full(3, 2.0)
    y, _, stats = batchnorm_forward(x, gamma, beta, rm, rv, True, eps=1e-5, momentum=0.1)
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    close(y, (x - mu[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5), tol=1e-12)
    close(stats["running_mean"], 0.9 * rm + 0.1 * mu, tol=1e-14)
    unbiased = x.transpose(1, 0, 2, 3).reshape(3, -1).var(axis=1, ddof=1)
    close(stats["running_var"], 0.9 * rv + 0.1 * unbiased, tol=1e-14)
    y_eval, _, none = batchnorm_forward(x, gamma, beta, rm, rv, False)
    close(y_eval, (x - 0.5) / np.sqrt(2.0 + 1e-5), tol=1e-12)
    assert none == {}


@pytest.mark.parametrize("shape", [(3, 5), (2, 2, 3, 3)])
def test_layernorm_vjp_matches_finite_differences(rng, shape):
    x = rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(shape[1:]), rng.standard_normal(shape[1:])

    def f(x_, gamma_=gamma, beta_=beta):
        return layernorm_forward(x_, gamma_, beta_)[0]

    y, cache = layernorm_forward(x, gamma, beta)
    g = rng.standard_normal(shape)
    dx, dgamma, dbeta = layernorm_vjp(cache, gamma, g)
    close(dx, vjp_fd(f, x, g), tol=1e-6)
    close(dgamma, vjp_fd(lambda v: f(x, v), gamma, g))
    close(dbeta, vjp_fd(lambda v: f(x, gamma, v), beta, g))


def test_layernorm_normalises_each_sample_over_its_features(rng):
    x = rng.standard_normal((4, 6)) * 3 + 1
    y, _ = layernorm_forward(x, np.ones(6), np.zeros(6))
    close(y.mean(axis=1), np.zeros(4), tol=1e-12)
    close(y.var(axis=1), np.full(4, 1.0), tol=1e-5)  # var / (var + eps)


def _run(name, kwargs, x, train=True, mask=None, rng=None):
    layer = layers[name].build(kwargs)
    y, cache, out = layer.forward({}, x, Ctx(train, rng, mask))
    return layer, y, cache, out


def test_dropout_is_inverted_with_p_the_drop_probability_and_identity_in_eval(rng):
    x = rng.standard_normal((400, 50))
    layer, y, cache, out = _run("dropout", {"p": 0.25}, x, rng=np.random.default_rng(0))
    mask = out["mask"]
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert abs(mask.mean() - 0.75) < 0.01  # kept with probability 1 - p
    np.testing.assert_array_equal(y, x * (mask / 0.75))
    g = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward({}, cache, g, True)[0], g * (mask / 0.75))
    _, y_eval, _, none = _run("dropout", {"p": 0.25}, x, train=False)
    assert y_eval is x and none == {}


def test_dropout_applies_a_given_mask_and_its_vjp_matches_finite_differences(rng):
    x = rng.standard_normal((3, 4))
    mask = (rng.random((3, 4)) > 0.5).astype(float)
    layer, y, cache, out = _run("dropout", {"p": 0.5}, x, mask=mask)
    np.testing.assert_array_equal(out["mask"], mask)
    g = rng.standard_normal(x.shape)
    fd = vjp_fd(lambda v: _run("dropout", {"p": 0.5}, v, mask=mask)[1], x, g)
    close(layer.backward({}, cache, g, True)[0], fd)


def test_flatten_is_row_major_and_its_vjp_reshapes_back(rng):
    x = rng.standard_normal((2, 3, 2, 2))
    layer, y, cache, _ = _run("flatten", {}, x)
    np.testing.assert_array_equal(y, x.reshape(2, 12))
    g = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(layer.backward({}, cache, g, True)[0], g.reshape(x.shape))


def test_every_registered_layer_is_tested_here():
    tested = {"conv", "maxpool", "avgpool", "batchnorm", "layernorm", "dropout", "flatten", "dense"}
    assert set(layers.names()) == tested
