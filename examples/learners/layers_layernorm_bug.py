"""Layernorm copied from batchnorm without changing the axis (statistics over the batch):
nnparity check names layernorm_axis."""

import numpy as np


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=0)  # bug: over the batch, as batchnorm
    var = x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, gamma, var, eps)


def layernorm_backward(dout, cache):
    xhat, gamma, var, eps = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / np.sqrt(var + eps)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def nnparity_layers():
    from nnparity.reference.learner import layer_check

    return [layer_check(layernorm_forward, layernorm_backward, layer="layernorm")]
