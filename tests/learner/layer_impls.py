"""Learners' layers for the per-layer tests: the CS231n-style examples (loaded from
examples/learners), a second, object style (nnfs's ``Layer_Dense``/``Layer_Dropout`` and
vectorised layers wrapped by small lambdas), and planted bugs, each one edit of a correct
layer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from nnparity.scratch.layers import (
    batchnorm_forward,
    batchnorm_vjp,
    conv2d,
    conv2d_vjp,
    layernorm_forward,
    layernorm_vjp,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "learners"


def example(stem: str):
    """The module ``examples/learners/<stem>.py``."""
    spec = importlib.util.spec_from_file_location(f"layers_example_{stem}", EXAMPLES / f"{stem}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# -- nnfs-style objects ------------------------------------------------------------------------


class LayerDense:
    """nnfs's dense layer: weights (in, out), ``dweights``, ``dbiases``, ``dinputs``."""

    def forward(self, inputs, weights, biases):
        self.inputs, self.weights, self.biases = inputs, weights, biases
        self.output = inputs @ weights + biases

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = dvalues @ self.weights.T


class LayerDropout:
    """nnfs's dropout: ``rate`` the drop rate, a binomial mask scaled by 1 / keep."""

    def __init__(self, rate):
        self.rate = 1 - rate

    def forward(self, inputs, training=True):
        if not training:
            self.output = inputs.copy()
            return
        self.binary_mask = np.random.binomial(1, self.rate, size=inputs.shape) / self.rate
        self.output = inputs * self.binary_mask

    def backward(self, dvalues):
        self.dinputs = dvalues * self.binary_mask


def nnfs_affine():
    layer = LayerDense()

    def fwd(x, w, b):  # nnfs takes (N, D): the lambda flattens and keeps x's shape
        layer.forward(x.reshape(len(x), -1), w, b)
        return layer.output, x.shape

    def bwd(dout, x_shape):
        layer.backward(dout)
        return layer.dinputs.reshape(x_shape), layer.dweights, layer.dbiases.reshape(-1)

    return fwd, bwd


def nnfs_dropout():
    layers = {}

    def fwd(x, dp):
        layer = layers.setdefault("l", LayerDropout(dp["p"]))
        layer.rate = 1 - dp["p"]
        layer.forward(x, training=dp["mode"] == "train")
        return layer.output, layer

    def bwd(dout, layer):
        layer.backward(dout)
        return layer.dinputs

    return fwd, bwd


# -- vectorised layers (scratch's functions behind small lambdas) ------------------------------


def vec_batchnorm():
    def fwd(x, gamma, beta, bp):
        y, cache, stats = batchnorm_forward(
            x,
            gamma,
            beta,
            bp["running_mean"],
            bp["running_var"],
            bp["mode"] == "train",
            bp["eps"],
            bp["momentum"],
        )
        bp.update(stats)
        return y, (cache, gamma)

    def bwd(dout, cache):
        return batchnorm_vjp(cache[0], cache[1], dout)

    return fwd, bwd


def vec_layernorm():
    def fwd(x, gamma, beta, lp):
        y, cache = layernorm_forward(x, gamma, beta, lp["eps"])
        return y, (cache, gamma)

    return fwd, lambda dout, c: layernorm_vjp(c[0], c[1], dout)


def vec_conv():
    def fwd(x, w, b, cp):
        y, cache = conv2d(x, w, b, cp["stride"], cp["pad"])
        return y, (cache, w, cp)

    def bwd(dout, c):
        return conv2d_vjp(c[0], c[1], dout, c[2]["stride"], c[2]["pad"])

    return fwd, bwd


def vec_pool():
    """Max pooling by sliding windows and one scatter-add of dout at each window's argmax."""

    def fwd(x, pp):
        ph, pw, s = pp["pool_height"], pp["pool_width"], pp["stride"]
        win = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::s, ::s]
        return win.max(axis=(-2, -1)), (x, win, s)

    def bwd(dout, cache):
        x, win, s = cache
        n, c, ho, wo, ph, pw = win.shape
        r, q = np.unravel_index(win.reshape(n, c, ho, wo, -1).argmax(-1), (ph, pw))
        rows = np.arange(ho)[None, None, :, None] * s + r
        cols = np.arange(wo)[None, None, None, :] * s + q
        ns = np.arange(n)[:, None, None, None]
        cs = np.arange(c)[None, :, None, None]
        dx = np.zeros_like(x)
        np.add.at(dx, (ns, cs, rows, cols), dout)
        return dx

    return fwd, bwd
