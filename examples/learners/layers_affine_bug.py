"""An affine layer whose dw is transposed and whose db is averaged over the batch:
nnparity check names transposed and scale_factor."""


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = dout.T @ x.reshape(x.shape[0], -1)  # bug: (M, D), w is (D, M)
    db = dout.mean(axis=0)  # bug: PyTorch sums over the batch
    return dx, dw, db


def nnparity_layers():
    from nnparity.reference.learner import layer_check

    return [layer_check(affine_forward, affine_backward, layer="affine")]
