"""The fast kernels behind conv, pooling, relu and the norms equal their textbook definitions
(no torch): im2col with the batch last and its adjoint col2im, conv forward and VJP against
einsum over sliding windows, max pooling against np.argmax over copied windows (ties, NaN,
infinities, overlapping windows and gaps), zero_where against np.where bit for bit, batchnorm's
fused VJP against the textbook formula, and every layer's results against the memory layout
of its input. Each check also fails on a planted bug, so it can fail."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from nnparity.scratch.activations import zero_where
from nnparity.scratch.layers import (
    Ctx,
    activation_layer,
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
    norm,
    windows,
)

# (x shape, (kh, kw), stride, pad): stride 1, 2, 3, padding, non-square kernels, gaps
GEOMETRY = [
    ((2, 3, 7, 6), (3, 3), 1, 0),
    ((2, 3, 7, 6), (3, 3), 1, 2),
    ((3, 2, 9, 8), (3, 3), 2, 1),
    ((1, 2, 6, 9), (2, 4), 2, 0),  # non-square kernel
    ((2, 1, 8, 7), (4, 2), 3, 1),  # stride larger than the kernel's width: gaps
    ((1, 1, 5, 5), (5, 5), 1, 0),  # kernel as large as the input
]
GEOMETRY_IDS = ["s1", "s1-pad2", "s2-pad1", "nonsquare", "s3-gaps", "full"]


# -- textbook references ------------------------------------------------------------------------
def ref_windows(x, kh, kw, s):
    """v[n, c, i, j, p, q] = x[n, c, s i + p, s j + q] (a strided view)."""
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::s, ::s]


def ref_add_windows(g, shape, s):
    """The adjoint of ref_windows, a loop over the kernel offsets."""
    out = np.zeros(shape)
    ho, wo, kh, kw = g.shape[2:]
    for p in range(kh):
        for q in range(kw):
            out[:, :, p : p + s * ho : s, q : q + s * wo : s] += g[..., p, q]
    return out


def _pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def ref_conv2d(x, W, b, s, pad):
    win = ref_windows(_pad(x, pad), *W.shape[2:], s)
    return np.einsum("ncijpq,ocpq->noij", win, W) + b[:, None, None]


def ref_conv2d_vjp(x, W, dy, s, pad):
    xp = _pad(x, pad)
    win = ref_windows(xp, *W.shape[2:], s)
    dW = np.einsum("ncijpq,noij->ocpq", win, dy)
    dxp = ref_add_windows(np.einsum("noij,ocpq->ncijpq", dy, W), xp.shape, s)
    h, w = x.shape[2:]
    return dxp[:, :, pad : pad + h, pad : pad + w], dW, dy.sum(axis=(0, 2, 3))


def ref_maxpool(x, k, s):
    win = ref_windows(x, k, k, s)
    flat = win.reshape(*win.shape[:4], k * k)
    arg = flat.argmax(axis=-1)  # the first maximum; a NaN wins
    return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0], arg


def ref_maxpool_vjp(x, arg, dy, k, s):
    g = np.where(arg[..., None] == np.arange(k * k), dy[..., None], 0.0)
    return ref_add_windows(g.reshape(*dy.shape, k, k), x.shape, s)


def ref_norm_vjp(xhat, rstd, gamma, dy, axes):
    dxhat = dy * gamma
    mean_d = dxhat.mean(axis=axes, keepdims=True)
    mean_dx = (dxhat * xhat).mean(axis=axes, keepdims=True)
    return (dxhat - mean_d - xhat * mean_dx) * rstd


def batch_last(a):
    """The same values, laid out with the batch axis last in memory."""
    return np.ascontiguousarray(np.moveaxis(a, 0, -1)).transpose(3, 0, 1, 2)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(b).max()))


# -- im2col / col2im ----------------------------------------------------------------------------
def check_col2im_is_the_adjoint(rng, x_shape, kh, kw, s, pad, col2im=windows.col2im):
    """<im2col(x), G> = <x, col2im(G)> for random x and G."""
    x = rng.standard_normal(x_shape)
    cols = windows.im2col(x, kh, kw, s, pad)
    G = rng.standard_normal(cols.shape)
    lhs, rhs = np.sum(cols * G), np.sum(x * col2im(G, x_shape, kh, kw, s, pad))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


@pytest.mark.parametrize(("x_shape", "k", "s", "pad"), GEOMETRY, ids=GEOMETRY_IDS)
def test_im2col_holds_each_window_batch_last_in_ws_order(rng, x_shape, k, s, pad):
    x = rng.standard_normal(x_shape)
    cols = windows.im2col(x, *k, s, pad)
    win = ref_windows(_pad(x, pad), *k, s)  # (N, C, Ho, Wo, kh, kw)
    n, c, ho, wo = win.shape[:4]
    expected = win.transpose(1, 4, 5, 2, 3, 0).reshape(c * k[0] * k[1], ho * wo * n)
    np.testing.assert_array_equal(cols, expected)


@pytest.mark.parametrize(("x_shape", "k", "s", "pad"), GEOMETRY, ids=GEOMETRY_IDS)
def test_col2im_is_the_adjoint_of_im2col(rng, x_shape, k, s, pad):
    check_col2im_is_the_adjoint(rng, x_shape, *k, s, pad)


def test_a_col2im_that_skips_a_kernel_offset_fails_the_adjoint_check(rng):
    def skips_last(dcols, x_shape, kh, kw, s, pad):
        c = x_shape[1]
        g = dcols.reshape(c, kh, kw, -1).copy()
        g[:, -1, -1] = 0
        return windows.col2im(g.reshape(dcols.shape), x_shape, kh, kw, s, pad)

    with pytest.raises(AssertionError):
        check_col2im_is_the_adjoint(rng, (2, 2, 6, 6), 3, 3, 1, 1, col2im=skips_last)


# -- conv ---------------------------------------------------------------------------------------
def check_conv(rng, x_shape, k, s, pad, out=3, fwd=conv2d, vjp=conv2d_vjp):
    x = rng.standard_normal(x_shape)
    W = rng.standard_normal((out, x_shape[1], *k))
    b = rng.standard_normal(out)
    y, cache = fwd(x, W, b, s, pad)
    close(y, ref_conv2d(x, W, b, s, pad))
    dy = rng.standard_normal(y.shape)
    for got, want in zip(vjp(cache, W, dy, s, pad), ref_conv2d_vjp(x, W, dy, s, pad), strict=True):
        close(got, want)
    assert vjp(cache, W, dy, s, pad, need_dx=False)[0] is None


@pytest.mark.parametrize(("x_shape", "k", "s", "pad"), GEOMETRY, ids=GEOMETRY_IDS)
def test_conv2d_and_its_vjp_equal_the_einsum_definition(rng, x_shape, k, s, pad):
    """dx through one GEMM and col2im equals the sum over windows, at every geometry."""
    check_conv(rng, x_shape, k, s, pad)


def test_conv2d_in_float32_agrees_with_float64_to_round_off(rng):
    x, W, b = rng.standard_normal((4, 3, 9, 9)), rng.standard_normal((5, 3, 3, 3)), np.ones(5)
    y64, c64 = conv2d(x, W, b, 2, 1)
    y32, c32 = conv2d(x.astype(np.float32), W.astype(np.float32), b.astype(np.float32), 2, 1)
    dy = rng.standard_normal(y64.shape)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=0, atol=1e-5 * np.abs(y64).max())
    g64 = conv2d_vjp(c64, W, dy, 2, 1)
    g32 = conv2d_vjp(c32, W.astype(np.float32), dy.astype(np.float32), 2, 1)
    for a, e in zip(g32, g64, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-5 * np.abs(e).max())


def test_a_conv_with_a_flipped_kernel_fails_the_definition_check(rng):
    def flipped(x, W, b, s, pad):
        return conv2d(x, np.ascontiguousarray(W[:, :, ::-1, ::-1]), b, s, pad)

    with pytest.raises(AssertionError):
        check_conv(rng, (2, 2, 6, 5), (3, 2), 1, 1, fwd=flipped)


# -- pooling ------------------------------------------------------------------------------------
POOLS = [(2, 2), (2, 1), (3, 2), (2, 3), (3, 3)]  # (k, stride): tiling, overlaps, gaps


def tied_input(rng, shape):
    """Few distinct values (many ties), some NaN, infinities and signed zeros."""
    x = rng.integers(-2, 3, size=shape).astype(np.float64)
    x.flat[rng.choice(x.size, 3, replace=False)] = [np.nan, np.inf, -np.inf]
    x[x == 0] = -0.0
    return x


def check_maxpool(rng, k, s, fwd=maxpool2d):
    x = tied_input(rng, (2, 3, 8, 7))
    y, cache = fwd(x, k, s)
    y_ref, arg_ref = ref_maxpool(x, k, s)
    np.testing.assert_array_equal(y, y_ref)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(
        maxpool2d_vjp(cache, dy, k, s), ref_maxpool_vjp(x, arg_ref, dy, k, s)
    )


@pytest.mark.parametrize(("k", "s"), POOLS)
def test_maxpool_selects_as_argmax_with_ties_nan_and_infinities(rng, k, s):
    check_maxpool(rng, k, s)


def test_a_maxpool_that_breaks_ties_to_the_last_maximum_fails_the_check(rng):
    def last_max(x, k, s):  # the same maxima, ties routed to the last one in scan order
        y, cache = maxpool2d(x, k, s)
        flat = ref_windows(x, k, k, s).reshape(*y.shape, k * k)
        return y, cache._replace(arg=k * k - 1 - flat[..., ::-1].argmax(axis=-1))

    with pytest.raises(AssertionError):
        check_maxpool(rng, 2, 2, fwd=last_max)


@pytest.mark.parametrize(("k", "s"), POOLS)
def test_avgpool_and_its_vjp_equal_the_window_mean(rng, k, s):
    x = rng.standard_normal((2, 2, 8, 7))
    y, cache = avgpool2d(x, k, s)
    close(y, ref_windows(x, k, k, s).mean(axis=(4, 5)))
    dy = rng.standard_normal(y.shape)
    g = np.broadcast_to(dy[..., None, None] / (k * k), (*dy.shape, k, k))
    close(avgpool2d_vjp(cache, dy, k, s), ref_add_windows(g, x.shape, s))


# -- zero_where ---------------------------------------------------------------------------------
SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -2.0, 5e-324]


def check_zero_where(fn, dtype):
    z = np.array([[v for v in SPECIAL] for _ in SPECIAL], dtype=dtype)
    g = z.T.copy()
    g[0, 0] = np.frombuffer(np.array([0x7FC00123], np.uint32).tobytes(), np.float32)[0]
    want = np.where(z <= 0, 0, g)
    got = fn(z <= 0, g)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_where_is_np_where_bit_for_bit(dtype):
    """NaN payloads, infinities and signed zeros kept where g is kept; +0 elsewhere."""
    check_zero_where(zero_where, dtype)


def test_zero_where_broadcasts_and_takes_strided_input(rng):
    g = rng.standard_normal((4, 6))[:, ::2]
    zero = np.array([True, False, True])
    np.testing.assert_array_equal(zero_where(zero, g), np.where(zero, 0, g))
    np.testing.assert_array_equal(
        zero_where(zero[:, None], g[:3]), np.where(zero[:, None], 0, g[:3])
    )


def test_a_zero_where_by_multiplication_fails_the_bit_check():
    with pytest.raises(AssertionError), np.errstate(invalid="ignore"):
        check_zero_where(lambda zero, g: g * ~zero, np.float64)


# -- batchnorm / layernorm ----------------------------------------------------------------------
def check_batchnorm_vjp(rng, shape, vjp=norm._norm_vjp):
    x = rng.standard_normal(shape) * 3 + 1
    c = shape[1]
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    _, cache, _ = batchnorm_forward(x, gamma, beta, np.zeros(c), np.ones(c), True)
    axes, vec = ((0,), (1, -1)) if len(shape) == 2 else ((0, 2, 3), (1, -1, 1, 1))
    dy = rng.standard_normal(shape)
    want = ref_norm_vjp(cache.xhat, cache.rstd, gamma.reshape(vec), dy, axes)
    close(vjp(cache, gamma.reshape(vec), dy, axes), want)
    dx, dgamma, dbeta = batchnorm_vjp(cache, gamma, dy)
    close(dx, want)
    close(dgamma, (dy * cache.xhat).sum(axis=axes))
    close(dbeta, dy.sum(axis=axes))


@pytest.mark.parametrize("shape", [(5, 4), (2, 3), (3, 2, 4, 5)], ids=["2d", "2d-batch2", "4d"])
def test_batchnorm_fused_vjp_equals_the_textbook_formula(rng, shape):
    check_batchnorm_vjp(rng, shape)


def test_a_batchnorm_vjp_without_the_xhat_term_fails_the_check(rng):
    def no_xhat(cache, gamma, dy, axes):
        d = dy * gamma
        return (d - d.mean(axis=axes, keepdims=True)) * cache.rstd

    with pytest.raises(AssertionError):
        check_batchnorm_vjp(rng, (5, 4), vjp=no_xhat)


def test_layernorm_vjp_equals_the_textbook_formula(rng):
    x, dy = rng.standard_normal((3, 2, 4, 5)), rng.standard_normal((3, 2, 4, 5))
    gamma, beta = rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 4, 5))
    _, cache = layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = layernorm_vjp(cache, gamma, dy)
    close(dx, ref_norm_vjp(cache.xhat, cache.rstd, gamma, dy, (1, 2, 3)))
    close(dgamma, (dy * cache.xhat).sum(axis=0))
    close(dbeta, dy.sum(axis=0))


# -- memory layout ------------------------------------------------------------------------------
LAYOUT_LAYERS = {
    "conv": {"out": 3, "k": 3, "stride": 2, "pad": 1},
    "maxpool": {"k": 2, "stride": 1},
    "avgpool": {"k": 3, "stride": 2},
    "batchnorm": {},
    "layernorm": {},
    "flatten": {},
    "dropout": {"p": 0.5},
}


@pytest.mark.parametrize("name", [*LAYOUT_LAYERS, "relu", "tanh"])
def test_results_do_not_depend_on_the_inputs_memory_layout(rng, name):
    """conv hands on its output batch last in memory; every layer gives the same values
    whether its input and dy are C-ordered, batch last, or one of each."""
    shape = (3, 2, 6, 5)
    if name in LAYOUT_LAYERS:
        layer = layers[name].build(LAYOUT_LAYERS[name])
    else:
        layer = activation_layer(name, {})
    draw = lambda r, s, fan_in, fan_out: r.standard_normal(s)  # noqa: E731
    params = layer.init(rng, shape[1:], draw, draw, True)
    params.update(layer.buffers(shape[1:]))
    x = rng.standard_normal(shape)
    mask = (rng.random(shape) > 0.5).astype(np.float64)
    outs = []
    c_order = np.ascontiguousarray
    for x_layout, dy_layout in (
        (c_order, c_order),
        (batch_last, batch_last),
        (batch_last, c_order),
    ):
        y, cache, _ = layer.forward(params, x_layout(x), Ctx(True, None, mask))
        dy = np.random.default_rng(1).standard_normal(y.shape)
        dy = dy_layout(dy) if dy.ndim == 4 else dy
        outs.append((y, *layer.backward(params, cache, dy, True)))
    y0, dx0, g0 = outs[0]
    for y1, dx1, g1 in outs[1:]:
        close(y1, y0)
        close(dx1, dx0)
        assert g1.keys() == g0.keys()
        for k in g0:
            close(g1[k], g0[k])


def test_conv_output_is_laid_out_batch_last(rng):
    y, _ = conv2d(rng.standard_normal((4, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3)), None)
    assert np.argmax(y.strides) == 1 and np.argmin(y.strides) == 0  # channels outer, batch inner


def test_laid_out_as_copies_only_when_the_layouts_differ(rng):
    a, like = rng.standard_normal((3, 2, 4, 5)), batch_last(rng.standard_normal((3, 2, 4, 5)))
    moved = windows.laid_out_as(a, like)
    np.testing.assert_array_equal(moved, a)
    assert np.argsort(moved.strides).tolist() == np.argsort(like.strides).tolist()
    assert windows.laid_out_as(moved, like) is moved
    z = windows.zeros_laid_out_as(like, (3, 2, 6, 7), np.float32)
    assert z.shape == (3, 2, 6, 7) and z.dtype == np.float32 and not z.any()
    assert np.argsort(z.strides).tolist() == np.argsort(like.strides).tolist()


def test_maxpool_windows_of_more_than_256_offsets_keep_their_index(rng):
    """Offsets are stored as uint8 up to 256 per window, wider beyond: a 17x17 window's last
    offset (288) still routes the gradient."""
    x = rng.standard_normal((2, 1, 17, 17))
    x[:, :, -1, -1] = 10.0
    y, cache = maxpool2d(x, 17, 17)
    assert (cache.arg == 288).all()
    dx = maxpool2d_vjp(cache, np.ones(y.shape), 17, 17)
    assert dx[:, :, -1, -1].tolist() == [[1.0], [1.0]] and dx.sum() == 2.0
