"""CS231n's ThreeLayerConvNet: conv - relu - 2x2 max pool - affine - relu - affine - softmax,
with the naive conv and pool loops and CS231n's weight layout (F, C, HH, WW).
`nnparity check` says match."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    win = xp[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
                    out[n, f, i, j] = np.sum(win * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    N, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    rs, cs = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
                    dw[f] += xp[n, :, rs, cs] * dout[n, f, i, j]
                    dxp[n, :, rs, cs] += w[f] * dout[n, f, i, j]
    dx = dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]
    return dx, dw, db


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
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, i * s : i * s + ph, j * s : j * s + pw]
                    a, b = np.unravel_index(np.argmax(win), win.shape)
                    dx[n, c, i * s + a, j * s + b] += dout[n, c, i, j]
    return dx


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, x):
    return dout * (x > 0)


def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return -log_probs[np.arange(n), y].mean(), dx / n


class ThreeLayerConvNet:
    def __init__(
        self,
        input_dim=(2, 6, 6),
        num_filters=3,
        filter_size=3,
        hidden_dim=8,
        num_classes=3,
        weight_scale=1e-1,
    ):
        C, H, W = input_dim
        rng = np.random.RandomState(1)
        self.params = {
            "W1": weight_scale * rng.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * rng.randn(num_filters * (H // 2) * (W // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * rng.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        a, c1 = conv_forward_naive(X, W1, b1, conv_param)
        r, c2 = relu_forward(a)
        pooled, c3 = max_pool_forward_naive(r, pool_param)
        h, c4 = affine_forward(pooled, self.params["W2"], self.params["b2"])
        hr, c5 = relu_forward(h)
        scores, c6 = affine_forward(hr, self.params["W3"], self.params["b3"])
        if y is None:
            return scores
        loss, d = softmax_loss(scores, y)
        grads = {}
        d, grads["W3"], grads["b3"] = affine_backward(d, c6)
        d = relu_backward(d, c5)
        d, grads["W2"], grads["b2"] = affine_backward(d, c4)
        d = max_pool_backward_naive(d, c3)
        d = relu_backward(d, c2)
        _, grads["W1"], grads["b1"] = conv_backward_naive(d, c1)
        return loss, grads


rng = np.random.RandomState(5)
X = rng.randn(6, 2, 6, 6)
Y = np.array([0, 1, 2, 0, 1, 2])
SPEC = "2x6x6 conv(3,k=3,pad=1) relu maxpool(2) flatten dense(8) relu dense(3) loss=cross_entropy"


def nnparity_adapter(model=None, **declared):
    from nnparity.reference.learner import from_loss

    model = model or ThreeLayerConvNet()
    declared.setdefault("optimizer", "sgd")
    declared.setdefault("lr", 0.05)
    return from_loss(
        model.params, model.loss, forward=model.loss, spec=SPEC, data=(X, Y), **declared
    )


if __name__ == "__main__":
    model = ThreeLayerConvNet()
    for _ in range(20):
        loss, grads = model.loss(X, Y)
        for k in model.params:
            model.params[k] -= 0.05 * grads[k]
    print("loss", loss)
