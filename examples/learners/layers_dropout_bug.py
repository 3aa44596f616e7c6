"""A dropout whose backward draws a new mask instead of using the forward's:
nnparity check names dropout_mask."""

import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        return x * mask, (dropout_param, p)
    return x, (dropout_param, p)


def dropout_backward(dout, cache):
    dropout_param, p = cache
    if dropout_param["mode"] == "train":
        mask = (np.random.rand(*dout.shape) < p) / p  # bug: a new mask
        return dout * mask
    return dout


def nnparity_layers():
    from nnparity.reference.learner import layer_check

    return [layer_check(dropout_forward, dropout_backward, layer="dropout", p="keep")]
