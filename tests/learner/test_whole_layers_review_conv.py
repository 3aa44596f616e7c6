"""Review findings on whole layered networks, conv and pooling: a float32 conv whose
allowance grew with batch x positions (a dW missing sample 0 and x1.01 matched), and a max-pool
backward that routes to every tied maximum (named pool_routing, both ways)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from test_whole_layers import _seeded_numpy  # noqa: F401 - autouse

from nnparity.reference.learner import check, from_loss


def softmax_ce(s, y):
    """(mean cross-entropy of the logits s against class indices y, its gradient dL/ds)."""
    s2 = s - s.max(1, keepdims=True)
    lp = s2 - np.log(np.exp(s2).sum(1, keepdims=True))
    d = np.exp(lp)
    d[np.arange(len(s)), y] -= 1
    return -lp[np.arange(len(s)), y].mean(), d / len(s)


class ConvF32:
    """conv(4,k=3,pad=1) relu maxpool(2) flatten dense(3) in float32, vectorised; ``bug``:
    'skip0' (conv dW leaves out sample 0) or 'scale' (conv dW x 1.01)."""

    def __init__(self, bug=""):
        r = np.random.RandomState(1)
        self.bug = bug
        self.params = {
            "W1": (0.3 * r.randn(4, 1, 3, 3)).astype(np.float32),
            "b1": np.zeros(4, np.float32),
            "W2": (0.05 * r.randn(4 * 8 * 8, 3)).astype(np.float32),
            "b2": np.zeros(3, np.float32),
        }

    def loss(self, X, y=None):
        p, n = self.params, len(X)
        win = sliding_window_view(np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), (2, 3))
        a = np.einsum("nchwij,fcij->nfhw", win, p["W1"]) + p["b1"][None, :, None, None]
        r = np.maximum(a, 0)
        r6 = r.reshape(n, 4, 8, 2, 8, 2)
        pooled = r6.max(axis=(3, 5))
        last = self.bug == "flatten_last"  # Keras's (N, H, W, C) order
        f = (pooled.transpose(0, 2, 3, 1) if last else pooled).reshape(n, -1)
        s = f @ p["W2"] + p["b2"]
        if y is None:
            return s
        loss, d = softmax_ce(s, y)
        g = {"W2": f.T @ d, "b2": d.sum(0)}
        dp = d @ p["W2"].T
        dp = dp.reshape(n, 8, 8, 4).transpose(0, 3, 1, 2) if last else dp.reshape(pooled.shape)
        first = (r6 == pooled[:, :, :, None, :, None]).cumsum(3).cumsum(5) == 1
        m = first & (r6 == pooled[:, :, :, None, :, None])
        da = (m * dp[:, :, :, None, :, None]).reshape(r.shape) * (a > 0)
        lo = 1 if self.bug == "skip0" else 0
        g["W1"] = np.einsum("nchwij,nfhw->fcij", win[lo:], da[lo:])
        g["W1"] = g["W1"] * (1.01 if self.bug == "scale" else 1.0)
        g["b1"] = da.sum((0, 2, 3))
        return loss, {k: v.astype(np.float32) for k, v in g.items()}


@pytest.mark.parametrize("bug", ["", "skip0", "scale"])
def test_float32_conv_allowance_catches_one_sample_left_out_and_one_percent(bug):
    net = ConvF32(bug)
    r = np.random.RandomState(5)
    X, Y = r.randn(64, 1, 16, 16).astype(np.float32), r.randint(0, 3, 64)
    spec = "1x16x16 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(3) loss=cross_entropy"
    a = from_loss(net.params, net.loss, names=["W1", "b1", "W2", "b2"], forward=net.loss,
                  spec=spec + " opt=sgd(lr=0.1)")  # fmt: skip
    res = check(a, X, Y, steps=2)
    if not bug:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert (res.code, f.params) == ("implementation_bug", ("W1",)), res.render()
    assert f.code in ("layer_mismatch", "scale_factor")


class PoolTies:
    """conv(2,k=3,pad=1) relu maxpool(2) flatten dense(3) on images with an exact-0 background:
    the conv gives its bias there, so pool windows tie. ``ties``: the pool's backward sends
    the gradient to every tied maximum (``win == win.max()``), not to the first."""

    def __init__(self, ties=False):
        r = np.random.RandomState(1)
        self.ties = ties
        self.params = {
            "W1": 0.3 * r.randn(2, 1, 3, 3),
            "b1": np.array([0.1, 0.2]),
            "W2": 0.3 * r.randn(2 * 3 * 3, 3),
            "b2": np.zeros(3),
        }

    def loss(self, X, y=None):
        p, n = self.params, len(X)
        win = sliding_window_view(np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), (2, 3))
        a = np.einsum("nchwij,fcij->nfhw", win, p["W1"]) + p["b1"][None, :, None, None]
        r6 = np.maximum(a, 0).reshape(n, 2, 3, 2, 3, 2)
        pooled = r6.max(axis=(3, 5))
        s = pooled.reshape(n, -1) @ p["W2"] + p["b2"]
        if y is None:
            return s
        loss, d = softmax_ce(s, y)
        g = {"W2": pooled.reshape(n, -1).T @ d, "b2": d.sum(0)}
        dp = (d @ p["W2"].T).reshape(pooled.shape)[:, :, :, None, :, None]
        tied = r6 == pooled[:, :, :, None, :, None]
        w = tied.transpose(0, 1, 2, 4, 3, 5).reshape(n, 2, 3, 3, 4)
        first = (np.cumsum(w, -1) == 1) & w  # the first maximum of each window, as np.argmax
        first = first.reshape(n, 2, 3, 3, 2, 2).transpose(0, 1, 2, 4, 3, 5)
        da = ((tied if self.ties else first) * dp).reshape(a.shape) * (a > 0)
        g["W1"] = np.einsum("nchwij,nfhw->fcij", win, da)
        g["b1"] = da.sum((0, 2, 3))
        return loss, g


@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_gradient_to_every_tied_maximum_is_pool_routing(ties):
    net = PoolTies(ties)
    r = np.random.RandomState(5)
    X = np.zeros((6, 1, 6, 6))
    X[:, :, 1:3, 1:3] = r.rand(6, 1, 2, 2)
    Y = np.array([0, 1, 2, 0, 1, 2])
    spec = "1x6x6 conv(2,k=3,pad=1) relu maxpool(2) flatten dense(3) loss=cross_entropy"
    a = from_loss(net.params, net.loss, names=["W1", "b1", "W2", "b2"], forward=net.loss,
                  spec=spec + " opt=sgd(lr=0.1)")  # fmt: skip
    res = check(a, X, Y, steps=2)
    if not ties:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert (res.code, f.code) == ("implementation_bug", "pool_routing"), res.render()
    assert "ties each get it all" in f.evidence


def test_channels_last_images_and_weights_are_refused_with_the_transpose():
    """Review s6: an NHWC learner got a bare shape mismatch."""
    from nnparity.reference.learner import LearnerError

    spec = "2x8x8 conv(4,k=3,pad=1) relu flatten dense(3) loss=cross_entropy opt=sgd(lr=0.1)"
    r = np.random.RandomState(0)
    P = {"W1": r.randn(4, 2, 3, 3), "b1": np.zeros(4), "W2": r.randn(256, 3), "b2": np.zeros(3)}
    a = from_loss(P, lambda X, y=None: (0.0, {k: 0 * v for k, v in P.items()}), spec=spec,
                  names=list(P))  # fmt: skip
    with pytest.raises(
        LearnerError, match=r"channels-last \(N, H, W, C\).*transpose\(0, 3, 1, 2\)"
    ):
        check(a, r.randn(4, 8, 8, 2), r.randint(0, 3, 4), steps=1)
    P["W1"] = r.randn(3, 3, 2, 4)  # Keras's (kh, kw, in, out)
    with pytest.raises(LearnerError, match=r"channels-last \(kh, kw, in, out\)"):
        check(a, r.randn(4, 2, 8, 8), r.randint(0, 3, 4), steps=1)


class OverlapPool:
    """conv(2,k=3,pad=1) relu maxpool(3,stride=2) flatten dense(3) on 1x9x9, CS231n's loops;
    ``assign``: the pool's backward writes dx[window] = ... instead of adding."""

    def __init__(self, assign=False):
        r = np.random.RandomState(2)
        self.assign = assign
        self.params = {"W1": 0.4 * r.randn(2, 1, 3, 3), "b1": 0.1 * r.randn(2),
                       "W2": 0.3 * r.randn(32, 3), "b2": np.zeros(3)}  # fmt: skip

    def loss(self, X, y=None):
        p, n = self.params, len(X)
        win = sliding_window_view(np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), (2, 3))
        a = np.einsum("nchwij,fcij->nfhw", win, p["W1"]) + p["b1"][None, :, None, None]
        r = np.maximum(a, 0)
        pooled = np.zeros((n, 2, 4, 4))
        for i in range(4):
            for j in range(4):
                pooled[:, :, i, j] = r[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].max(axis=(2, 3))
        s = pooled.reshape(n, -1) @ p["W2"] + p["b2"]
        if y is None:
            return s
        loss, d = softmax_ce(s, y)
        g = {"W2": pooled.reshape(n, -1).T @ d, "b2": d.sum(0)}
        dp = (d @ p["W2"].T).reshape(pooled.shape)
        dr = np.zeros_like(r)
        for b in range(n):
            for c in range(2):
                for i in range(4):
                    for j in range(4):
                        w = r[b, c, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3]
                        u, v = np.unravel_index(np.argmax(w), w.shape)
                        if self.assign:
                            dr[b, c, 2 * i + u, 2 * j + v] = dp[b, c, i, j]
                        else:
                            dr[b, c, 2 * i + u, 2 * j + v] += dp[b, c, i, j]
        da = dr * (a > 0)
        g["W1"] = np.einsum("nchwij,nfhw->fcij", win, da)
        g["b1"] = da.sum((0, 2, 3))
        return loss, g


@pytest.mark.parametrize("assign", [False, True])
def test_a_max_pool_backward_that_assigns_where_windows_overlap_is_pool_routing(assign):
    net = OverlapPool(assign)
    r = np.random.RandomState(4)
    X, Y = r.randn(6, 1, 9, 9), r.randint(0, 3, 6)
    spec = "1x9x9 conv(2,k=3,pad=1) relu maxpool(3,stride=2) flatten dense(3) loss=cross_entropy"
    a = from_loss(net.params, net.loss, names=["W1", "b1", "W2", "b2"], forward=net.loss,
                  spec=spec + " opt=sgd(lr=0.1)")  # fmt: skip
    res = check(a, X, Y, steps=2)
    if not assign:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "pool_routing" and "dx[...] +=" in f.hint, res.render()


def test_a_channels_last_flatten_is_named_and_refused_as_not_declarable():
    """Review s6: a correct network flattening (N, H, W, C) as Keras does was an
    implementation_bug 'your forward pass differs'."""
    from nnparity.reference.learner import LearnerError

    net = ConvF32("flatten_last")
    r = np.random.RandomState(5)
    X, Y = r.randn(8, 1, 16, 16).astype(np.float32), r.randint(0, 3, 8)
    spec = "1x16x16 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(3) loss=cross_entropy"
    a = from_loss(net.params, net.loss, names=["W1", "b1", "W2", "b2"], forward=net.loss,
                  spec=spec + " opt=sgd(lr=0.1)")  # fmt: skip
    with pytest.raises(LearnerError, match="flattens channels last.*cannot be declared yet"):
        check(a, X, Y, steps=2)
