"""A layer-class net with overlapping pools (review s52, a test fixture): conv (im2col) relu
maxpool(3, stride 2) conv relu avgpool(2, stride 1) flatten dense; dx added window by window;
its other layers are lenet2_im2col's."""

import numpy as np
from lenet2_im2col import Conv, Dense, Flatten, ReLU, SoftmaxCE  # the same layers


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
