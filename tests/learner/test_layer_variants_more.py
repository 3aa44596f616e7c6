"""Layer bugs named by their class, not as a bare ``layer_mismatch`` (review s25g F3): an
im2col index that leaves the stride out of one axis' offset (``conv_stride``), a conv's dx
written with ``=`` where overlapping windows add (``conv_overlap``, a loop's or a col2im's
order), batchnorm normalising with its running statistics in training mode
(``batchnorm_running``) or with eps outside the root (``batchnorm_eps``); the correct layers
match."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import layer_check
from nnparity.reference.learner.per_layer import check_layer


def _conv(bug=""):
    def fwd(x, w, b, cp):
        s, pad = cp["stride"], cp["pad"]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        f, _, hh, ww = w.shape
        ho, wo = 1 + (xp.shape[2] - hh) // s, 1 + (xp.shape[3] - ww) // s
        cs = 1 if bug == "cols" else s  # the columns' offset without the stride
        out = np.zeros((len(x), f, ho, wo))
        for i in range(ho):
            for j in range(wo):
                win = xp[:, :, i * s : i * s + hh, j * cs : j * cs + ww]
                out[:, :, i, j] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
        return out, (x, w, cp)

    def bwd(dout, cache):
        x, w, cp = cache
        s, pad = cp["stride"], cp["pad"]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        hh, ww = w.shape[2:]
        spots = [(i, j) for i in range(dout.shape[2]) for j in range(dout.shape[3])]
        for i, j in reversed(spots) if bug == "col2im" else spots:
            rows, cols = slice(i * s, i * s + hh), slice(j * s, j * s + ww)
            share = np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
            if bug in ("loop", "col2im"):
                dxp[:, :, rows, cols] = share
            else:
                dxp[:, :, rows, cols] += share
            dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], xp[:, :, rows, cols])
        dx = dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]
        return dx, dw, dout.sum(axis=(0, 2, 3))

    return fwd, bwd


def _bn(bug=""):
    def fwd(x, gamma, beta, bp):
        eps, m = bp.get("eps", 1e-5), bp.get("momentum", 0.1)
        rm, rv = bp["running_mean"], bp["running_var"]
        if bp["mode"] != "train":
            return gamma * (x - rm) / np.sqrt(rv + eps) + beta, None
        mu, var = (rm, rv) if bug == "running" else (x.mean(0), x.var(0))
        den = np.sqrt(var) + eps if bug == "eps" else np.sqrt(var + eps)
        xhat = (x - mu) / den
        bp["running_mean"] = (1 - m) * rm + m * x.mean(0)
        bp["running_var"] = (1 - m) * rv + m * x.var(0, ddof=1)
        return gamma * xhat + beta, (xhat, gamma, den)

    def bwd(dout, cache):
        xhat, gamma, den = cache
        dxhat = dout * gamma
        if bug == "running":  # the statistics are constants here: its own exact gradient
            dx = dxhat / den
        else:
            dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / den
        return dx, (dout * xhat).sum(0), dout.sum(0)

    return fwd, bwd


def test_the_correct_loop_layers_match():
    assert check_layer(layer_check(*_conv(), layer="conv")).code == "match"
    assert check_layer(layer_check(*_bn(), layer="batchnorm")).code == "match"


@pytest.mark.parametrize(
    ("layer", "impl", "code", "tensor"),
    [
        ("conv", _conv("cols"), "conv_stride", "out"),
        ("conv", _conv("loop"), "conv_overlap", "dx"),
        ("conv", _conv("col2im"), "conv_overlap", "dx"),
        ("batchnorm", _bn("running"), "batchnorm_running", "out"),
        ("batchnorm", _bn("eps"), "batchnorm_eps", "out"),
    ],
)
def test_the_bug_is_named(layer, impl, code, tensor):
    v = check_layer(layer_check(*impl, layer=layer))
    assert v.code == "implementation_bug", v.render()
    assert (code, tensor) in {(f.code, f.params[0]) for f in v.findings}, v.render()
