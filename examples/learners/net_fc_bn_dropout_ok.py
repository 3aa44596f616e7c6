"""CS231n's FullyConnectedNet (assignment 2) with batchnorm and dropout, as learners write it:
{affine - batchnorm - relu - dropout} x 2 - affine - softmax. Dropout's p is the keep
probability and batchnorm keeps CS231n's running average (convention="cs231n"); the masks are
recovered by replaying NumPy's generator. `nnparity check` says match."""

import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    cache = None
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        out = gamma * xhat + beta
        cache = (xhat, gamma, var, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, var, eps = cache
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / np.sqrt(var + eps)
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    else:
        out = x
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout


def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    loss = -log_probs[np.arange(n), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return loss, dx / n


class FullyConnectedNet:
    def __init__(
        self,
        hidden_dims,
        input_dim,
        num_classes,
        dropout_keep_ratio=1,
        normalization=None,
        weight_scale=1e-1,
        seed=None,
    ):
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.num_layers = 1 + len(hidden_dims)
        self.params = {}
        rng = np.random.RandomState(0)
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = weight_scale * rng.randn(dims[i], dims[i + 1])
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])
            if normalization == "batchnorm" and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1])
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1])
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]

    def loss(self, X, y=None):
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        caches = []
        out = X
        for i in range(1, self.num_layers):
            out, c_aff = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            c_bn = None
            if self.normalization == "batchnorm":
                out, c_bn = batchnorm_forward(
                    out, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1]
                )
            out, c_relu = relu_forward(out)
            c_drop = None
            if self.use_dropout:
                out, c_drop = dropout_forward(out, self.dropout_param)
            caches.append((c_aff, c_bn, c_relu, c_drop))
        L = self.num_layers
        scores, c_last = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if mode == "test":
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, c_last)
        for i in range(L - 1, 0, -1):
            c_aff, c_bn, c_relu, c_drop = caches[i - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, c_drop)
            dout = relu_backward(dout, c_relu)
            if self.normalization == "batchnorm":
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dout, c_bn)
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, c_aff)
        return loss, grads


rng = np.random.RandomState(3)
X = rng.randn(16, 5)
Y = np.argmax(X[:, :3] + 0.3 * X[:, 3:4], axis=1)
SPEC = (
    "5 dense(8) batchnorm relu dropout(0.75) dense(8) batchnorm relu dropout(0.75) dense(3) "
    "loss=cross_entropy opt=sgd(lr=0.1)"
)


def nnparity_adapter(model=None, **declared):
    from nnparity.reference.learner import from_loss

    model = model or FullyConnectedNet(
        [8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm"
    )
    return from_loss(
        model.params,
        model.loss,
        names=["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"],
        forward=model.loss,  # loss(X) in test mode: the scores
        spec=SPEC,
        convention="cs231n",  # running = 0.9 running + 0.1 batch (biased var); p keeps
        owner=model,
        buffers=[f"bn_params[{i}]['{k}']" for i in (0, 1) for k in ("running_mean", "running_var")],
        data=(X, Y),
        **declared,
    )


if __name__ == "__main__":
    model = FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm")
    for _ in range(100):
        loss, grads = model.loss(X, Y)
        for k in model.params:
            model.params[k] -= 0.1 * grads[k]
    print("loss", loss)
