"""A layer-class net with overlapping pools (review s52, a test fixture): conv (im2col) relu
maxpool(3, stride 2) conv relu avgpool(2, stride 1) flatten dense; dx added window by window."""

import numpy as np


def _idx(C, H, W, k, pad, stride):
    Ho = (H + 2 * pad - k) // stride + 1
    Wo = (W + 2 * pad - k) // stride + 1
    i0 = np.tile(np.repeat(np.arange(k), k), C)
    i1 = stride * np.repeat(np.arange(Ho), Wo)
    j0 = np.tile(np.arange(k), k * C)
    j1 = stride * np.tile(np.arange(Wo), Ho)
    i = i0[:, None] + i1[None, :]
    j = j0[:, None] + j1[None, :]
    c = np.repeat(np.arange(C), k * k)[:, None]
    return c, i, j, Ho, Wo


class Conv:
    def __init__(self, cin, cout, k, pad, stride, rng):
        self.k, self.pad, self.stride = k, pad, stride
        self.weights = rng.randn(cout, cin, k, k) * np.sqrt(2.0 / (cin * k * k))
        self.biases = np.zeros(cout)

    def forward(self, x):
        self.x = x
        N, C, H, W = x.shape
        p = self.pad
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        c, i, j, Ho, Wo = _idx(C, H, W, self.k, p, self.stride)
        self.cols = xp[:, c, i, j]  # N, CKK, L
        F = self.weights.shape[0]
        out = (
            np.einsum("fk,nkl->nfl", self.weights.reshape(F, -1), self.cols)
            + self.biases[None, :, None]
        )
        self.output = out.reshape(N, F, Ho, Wo)
        return self.output

    def backward(self, dvalues):
        N, F, Ho, Wo = dvalues.shape
        d = dvalues.reshape(N, F, -1)
        self.dweights = np.einsum("nfl,nkl->fk", d, self.cols).reshape(self.weights.shape)
        self.dbiases = d.sum(axis=(0, 2))
        dcols = np.einsum("fk,nfl->nkl", self.weights.reshape(F, -1), d)
        N, C, H, W = self.x.shape
        p = self.pad
        dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
        c, i, j, _, _ = _idx(C, H, W, self.k, p, self.stride)
        np.add.at(dxp, (slice(None), c, i, j), dcols)
        self.dinputs = dxp[:, :, p : p + H, p : p + W]
        return self.dinputs


class ReLU:
    def forward(self, x):
        self.x = x
        self.output = np.maximum(0, x)
        return self.output

    def backward(self, d):
        self.dinputs = d * (self.x > 0)
        return self.dinputs


class MaxPool:
    def __init__(self, k):
        self.k = k

    def forward(self, x):
        self.x = x
        N, C, H, W = x.shape
        k = self.k
        Ho, Wo = H // k, W // k
        xr = (
            x[:, :, : Ho * k, : Wo * k]
            .reshape(N, C, Ho, k, Wo, k)
            .transpose(0, 1, 2, 4, 3, 5)
            .reshape(N, C, Ho, Wo, k * k)
        )
        self.arg = xr.argmax(axis=-1)
        self.output = xr.max(axis=-1)
        return self.output

    def backward(self, d):
        N, C, H, W = self.x.shape
        k = self.k
        Ho, Wo = d.shape[2], d.shape[3]
        dr = np.zeros((N, C, Ho, Wo, k * k))
        np.put_along_axis(dr, self.arg[..., None], d[..., None], axis=-1)
        dx = np.zeros_like(self.x)
        dx[:, :, : Ho * k, : Wo * k] = (
            dr.reshape(N, C, Ho, Wo, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, Ho * k, Wo * k)
        )
        self.dinputs = dx
        return dx


class Pool:
    def __init__(self, k, s, kind):
        self.k, self.s, self.kind = k, s, kind

    def forward(self, x):
        self.x = x
        N, C, H, W = x.shape
        k, s = self.k, self.s
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
        out = np.zeros((N, C, Ho, Wo))
        for i in range(Ho):
            for j in range(Wo):
                win = x[:, :, i * s : i * s + k, j * s : j * s + k]
                out[:, :, i, j] = (
                    win.max(axis=(2, 3)) if self.kind == "max" else win.mean(axis=(2, 3))
                )
        self.output = out
        return out

    def backward(self, d):
        x = self.x
        N, C, H, W = x.shape
        k, s = self.k, self.s
        dx = np.zeros_like(x)
        for i in range(d.shape[2]):
            for j in range(d.shape[3]):
                win = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(N, C, -1)
                if self.kind == "max":
                    m = np.zeros_like(win)
                    np.put_along_axis(m, win.argmax(-1)[..., None], 1.0, axis=-1)
                    dx[:, :, i * s : i * s + k, j * s : j * s + k] += (
                        m * d[:, :, i, j][..., None]
                    ).reshape(N, C, k, k)
                else:
                    dx[:, :, i * s : i * s + k, j * s : j * s + k] += d[:, :, i, j][
                        ..., None, None
                    ] / (k * k)
        self.dinputs = dx
        return dx


class Flatten:
    def forward(self, x):
        self.shape = x.shape
        self.output = x.reshape(x.shape[0], -1)
        return self.output

    def backward(self, d):
        self.dinputs = d.reshape(self.shape)
        return self.dinputs


class Dense:
    def __init__(self, nin, nout, rng):
        self.weights = rng.randn(nin, nout) * np.sqrt(1.0 / nin)
        self.biases = np.zeros((1, nout))

    def forward(self, x):
        self.x = x
        self.output = x @ self.weights + self.biases
        return self.output

    def backward(self, d):
        self.dweights = self.x.T @ d
        self.dbiases = d.sum(axis=0, keepdims=True)
        self.dinputs = d @ self.weights.T
        return self.dinputs


class SoftmaxCE:
    def forward(self, z, y):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        self.y = y
        return -np.mean(np.log(self.p[np.arange(len(y)), y]))

    def backward(self):
        d = self.p.copy()
        d[np.arange(len(self.y)), self.y] -= 1
        return d / len(self.y)


rng = np.random.RandomState(0)
conv1 = Conv(1, 4, 3, 1, 1, rng)
relu1 = ReLU()
pool1 = Pool(3, 2, "max")
conv2 = Conv(4, 6, 2, 0, 1, rng)
relu2 = ReLU()
pool2 = Pool(2, 1, "avg")
flat = Flatten()
dense1 = Dense(6, 3, rng)
lossf = SoftmaxCE()
LAYERS = [conv1, relu1, pool1, conv2, relu2, pool2, flat, dense1]


def predict(X):
    a = X
    for L in LAYERS:
        a = L.forward(a)
    return a


def forward_backward(X, y):
    z = predict(X)
    loss = lossf.forward(z, y)
    d = lossf.backward()
    for L in reversed(LAYERS):
        d = L.backward(d)
    return loss


drng = np.random.RandomState(1)
X = drng.randn(8, 1, 8, 8)
Y = drng.randint(0, 3, size=8)
SPEC = (
    "1x8x8 conv(4,k=3,pad=1) relu maxpool(3,stride=2) conv(6,k=2) relu avgpool(2,stride=1) "
    "flatten dense(3) loss=cross_entropy"
)


def nnparity_adapter(**declared):
    from nnparity.reference.learner import from_layers

    declared.setdefault("optimizer", "sgd")
    declared.setdefault("lr", 0.1)
    return from_layers(
        [conv1, conv2, dense1],
        forward_backward,
        forward=predict,
        spec=SPEC,
        data=(X, Y),
        **declared,
    )


if __name__ == "__main__":
    for _ in range(50):
        l = forward_backward(X, Y)
        for L in (conv1, conv2, dense1):
            L.weights -= 0.1 * L.dweights
            L.biases -= 0.1 * L.dbiases
    print(l)
