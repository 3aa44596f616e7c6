"""A convolution with a flipped kernel (true convolution, as in a signal-processing course):
nnparity check names conv_flip."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w[:, :, ::-1, ::-1]  # bug: frameworks do not flip the kernel
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    win = xp[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
                    out[n, f, i, j] = np.sum(win * k[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, F, Ho, Wo = dout.shape
    _, _, HH, WW = w.shape
    k = w[:, :, ::-1, ::-1]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dk = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    rs, cs = i * stride, j * stride
                    dk[f] += xp[n, :, rs : rs + HH, cs : cs + WW] * dout[n, f, i, j]
                    dxp[n, :, rs : rs + HH, cs : cs + WW] += k[f] * dout[n, f, i, j]
    dx = dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]
    return dx, dk[:, :, ::-1, ::-1], dout.sum(axis=(0, 2, 3))


def nnparity_layers():
    from nnparity.reference.learner import layer_check

    return [layer_check(conv_forward_naive, conv_backward_naive, layer="conv")]
