"""One number for a whole layer's biases, ``db = 1/m * np.sum(dZ)`` with no axis (the famous
line of a much-copied MNIST-from-scratch video): named ``bias_reduction`` whether the gradient
is shown (its shape says it) or hidden behind a step (its values say it; at a softmax output
under cross-entropy that number is 0, since each sample's dz sums to 0 over the units)."""

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]


def _learner(style: str, bug: bool):
    r = np.random.RandomState(0)
    P = {"W1": r.rand(6, 8) - 0.5, "b1": r.rand(6, 1) - 0.5,
         "W2": r.rand(4, 6) - 0.5, "b2": r.rand(4, 1) - 0.5}  # fmt: skip

    def grads(X, y):
        X = X.T
        Z1 = P["W1"] @ X + P["b1"]
        A1 = np.maximum(Z1, 0)
        Z2 = P["W2"] @ A1 + P["b2"]
        A2 = np.exp(Z2) / np.exp(Z2).sum(axis=0)
        m = X.shape[1]
        dZ2 = A2 - np.eye(4)[y].T
        dZ1 = P["W2"].T @ dZ2 * (Z1 > 0)

        def db(dZ):
            return np.sum(dZ) / m if bug else np.sum(dZ, axis=1, keepdims=True) / m

        return {"W1": dZ1 @ X.T / m, "b1": db(dZ1), "W2": dZ2 @ A1.T / m, "b2": db(dZ2)}

    def step(X, y):
        for k, g in grads(X, y).items():
            P[k] = P[k] - 0.1 * g

    kw = dict(sizes=[8, 6, 4], activations="relu,softmax", loss="cross_entropy",
              optimizer="sgd", lr=0.1, layout="out_in")  # fmt: skip
    if style == "step":
        return from_step(P, NAMES, step, **kw)
    return from_gradients(P, NAMES, grads, step=step, **kw)


@pytest.mark.parametrize("style", ["gradients", "step"])
@pytest.mark.parametrize("bug", [False, True])
def test_one_number_for_a_layer_s_biases_is_bias_reduction(style, bug):
    r = np.random.RandomState(1)
    X, y = r.randn(20, 8), r.randint(0, 4, 20)
    res = check(_learner(style, bug), X, y, steps=4, probe=False)
    if not bug:
        assert res.code == "match", res.render()
        return
    assert res.code == "implementation_bug", res.render()
    f = {f.params[0]: f for f in res.findings}
    if style == "gradients":  # the shapes tell it, of both biases (review s31 F7: b1 alone)
        assert res.codes() == ["bias_reduction"], res.render()
        assert f["b1"].params == ("b1", "b2"), res.render()
        assert "one number for the layer's 6 biases" in f["b1"].evidence, res.render()
        assert "one number for the layer's 4 biases" in f["b1"].evidence, res.render()
        return
    assert res.codes() == ["bias_reduction", "bias_reduction"], res.render()
    assert "0 within tolerance, as yours" in f["b2"].evidence, res.render()
    assert "softmax output under cross-entropy" in f["b2"].evidence
    assert "c = 1.0000, cos = 1.0000" in f["b1"].evidence, res.render()
