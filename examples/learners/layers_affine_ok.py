"""CS231n's affine layer, written as the assignment asks: nnparity check says match."""


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def nnparity_layers():
    from nnparity.reference.learner import layer_check

    return [layer_check(affine_forward, affine_backward, layer="affine")]
