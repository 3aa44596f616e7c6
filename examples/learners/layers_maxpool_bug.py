"""Max pooling whose backward sends each window's gradient to every maximum (a mask
x == max): right without ties, wrong with them. nnparity check names pool_routing."""

import numpy as np


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s : i * s + ph, j * s : j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * s : i * s + ph, j * s : j * s + pw]
            top = win == win.max(axis=(2, 3), keepdims=True)  # bug: every tied maximum
            dx[:, :, i * s : i * s + ph, j * s : j * s + pw] += (
                top * dout[:, :, i, j][:, :, None, None]
            )
    return dx


def nnparity_layers():
    from nnparity.reference.learner import layer_check

    return [layer_check(max_pool_forward_naive, max_pool_backward_naive, layer="max_pool")]
