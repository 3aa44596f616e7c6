"""Normalisation slips in a whole network (layered_variants.py), named as the per-layer check
names them (review s28: a generic "your forward pass differs"): batchnorm's eps outside the
square root (``batchnorm_eps``), layernorm's statistics over the batch (``layernorm_axis``).
Both ways: the same network written right matches."""

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss

SPEC = "5 dense(8) {norm} relu dense(3) loss=cross_entropy opt=sgd(lr=0.1)"


def _net(norm: str, slip: bool):
    """CS231n-style: dense, norm, relu, dense, softmax cross-entropy; a learner's backward."""
    rng = np.random.RandomState(0)
    p = {"W1": rng.randn(5, 8) * 0.5, "b1": np.zeros(8), "gamma1": 1 + 0.1 * rng.randn(8),
         "beta1": 0.1 * rng.randn(8), "W2": rng.randn(8, 3) * 0.5, "b2": np.zeros(3)}  # fmt: skip
    axis = 0 if norm == "batchnorm" or slip else 1

    def loss(X, y=None):
        z = X @ p["W1"] + p["b1"]
        mu, var = z.mean(axis, keepdims=True), z.var(axis, keepdims=True)
        std = np.sqrt(var) + 1e-5 if (norm == "batchnorm" and slip) else np.sqrt(var + 1e-5)
        xhat = (z - mu) / std
        h = np.maximum(0, p["gamma1"] * xhat + p["beta1"])
        s = h @ p["W2"] + p["b2"]
        if y is None:
            return s
        e = np.exp(s - s.max(1, keepdims=True))
        pr = e / e.sum(1, keepdims=True)
        n = len(X)
        ds = pr.copy()
        ds[np.arange(n), y] -= 1
        ds /= n
        dh = ds @ p["W2"].T * (h > 0)
        dxhat = dh * p["gamma1"]
        dz = (dxhat - dxhat.mean(axis, keepdims=True)
              - xhat * (dxhat * xhat).mean(axis, keepdims=True)) / std  # fmt: skip
        if norm == "batchnorm" and slip:  # the same form, exact for sqrt(var) + eps
            dz = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0) * std / np.sqrt(var)) / std
        grads = {"W1": X.T @ dz, "b1": dz.sum(0), "gamma1": (dh * xhat).sum(0),
                 "beta1": dh.sum(0), "W2": h.T @ ds, "b2": ds.sum(0)}  # fmt: skip
        return -np.log(pr[np.arange(n), y]).mean(), grads

    return from_loss(p, loss, names=list(p), forward=loss, spec=SPEC.format(norm=norm))


@pytest.mark.parametrize(
    ("norm", "code"), [("batchnorm", "batchnorm_eps"), ("layernorm", "layernorm_axis")]
)
@pytest.mark.parametrize("slip", [False, True])
def test_a_normalisation_slip_is_named_in_a_whole_network(norm, code, slip):
    rng = np.random.RandomState(1)
    X = rng.randn(12, 5) * 0.01  # a small variance, where eps outside the root parts
    y = rng.randint(0, 3, 12)
    r = check(_net(norm, slip), X, y, steps=2, probe=False)
    if not slip:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].code == code, r.render()
