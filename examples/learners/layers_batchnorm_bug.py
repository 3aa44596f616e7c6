"""The most common batchnorm backward bug: dx treats the batch mean and variance as
constants (only gamma / sqrt(var + eps) * dout). nnparity check names batchnorm_backward."""

import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param["running_mean"]
    running_var = bn_param["running_var"]
    cache = None
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        out = gamma * xhat + beta
        cache = (xhat, gamma, var, eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, var, eps = cache
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx = dout * gamma / np.sqrt(var + eps)  # bug: mean and variance depend on x too
    return dx, dgamma, dbeta


def nnparity_layers():
    from nnparity.reference.learner import layer_check

    return [
        layer_check(batchnorm_forward, batchnorm_backward, layer="batchnorm", convention="cs231n")
    ]
