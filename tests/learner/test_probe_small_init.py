"""Weights far below 1/sqrt(fan_in) in a deep network (review s22b, finding 3):
deeplearning.ai's L_layer_model with ``randn * 0.01`` on 2-20-7-5-1 (relu, sigmoid output)
stays at the majority class under SGD at any lr, while Adam fits from the same weights; it was
``dead_units`` with "or lower the learning rate". From a fresh initialisation the declared SGD
fits: ``init_scale``, too small, "re-initialise". Where the declared run fits from the
learner's own weights, small weights are no cause (Karpathy's 0.01 two-layer net)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _adapter(scale: str, dims: tuple = (2, 20, 7, 5, 1)):
    r = np.random.RandomState(1)
    P = {}
    for l in range(1, len(dims)):
        s = 0.01 if scale == "small" else 1 / np.sqrt(dims[l - 1])
        P[f"W{l}"] = r.randn(dims[l], dims[l - 1]) * s  # (out, in): W @ x
        P[f"b{l}"] = np.zeros((dims[l], 1))

    def loss(X, y):
        A, cache = X.T, []
        for l in range(1, 5):
            Z = P[f"W{l}"] @ A + P[f"b{l}"]
            cache.append((A, Z))
            A = 1 / (1 + np.exp(-Z)) if l == 4 else np.maximum(0, Z)
        Y, m = y.reshape(1, -1), X.shape[0]
        cost = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
        dZ, g = A - Y, {}
        for l in range(4, 0, -1):
            A_prev, Z = cache[l - 1]
            g[f"W{l}"], g[f"b{l}"] = dZ @ A_prev.T / m, dZ.sum(1, keepdims=True) / m
            if l > 1:
                dZ = (P[f"W{l}"].T @ dZ) * (cache[l - 2][1] > 0)
        return cost, g

    decl = dict(sizes=list(dims), activations="relu,relu,relu,sigmoid", loss="bce")
    return from_loss(P, loss, names=list(P), optimizer="sgd", lr=0.0075, **decl)


def _data():
    r = np.random.RandomState(3)
    X = r.uniform(-1, 1, (120, 2))
    return X, ((X**2).sum(1) < 0.5).astype(float)[:, None]


def test_weights_far_too_small_in_a_deep_net_are_init_scale():
    res = check(_adapter("small"), *_data(), steps=2, watch=0)
    assert res.code == "match", res.render()
    assert res.training.outcome == "model_limitation", res.render()
    assert set(res.codes()) == {"init_scale"}, res.render()
    f = res.findings[0]
    assert "times below 1/sqrt(fan_in)" in f.evidence and "from a fresh random" in f.evidence
    assert f.hint.startswith("re-initialise: scale the initial weights"), f.hint
    assert "lower the learning rate" not in res.render()


@pytest.mark.parametrize("scale", ["he"])
def test_the_same_net_at_a_1_over_sqrt_fan_in_start_is_no_init_scale(scale):
    res = check(_adapter(scale), *_data(), steps=2, watch=0)
    assert res.code == "match", res.render()
    assert "init_scale" not in res.codes(), res.render()


def test_too_small_where_adam_fails_from_them_too_is_init_scale_not_local_minimum():
    """Review s32 F4: on 5-20-7-5-1 Adam fails from the learner's randn * 0.01 weights as
    well; a fresh start fits, which was said as ``local_minimum``, "another seed" (another
    seed at that scale fits no better), where the scale is the cause."""
    X = np.random.RandomState(0).randn(5, 40).T  # (features, samples) drawn, as the course
    y = (X[:, :1] + X[:, 1:2] ** 2 > 0.5).astype(float)
    res = check(_adapter("small", (5, 20, 7, 5, 1)), X, y, steps=2, watch=0)
    assert res.code == "match", res.render()
    assert "local_minimum" not in res.codes() and "adam(lr=0.03) run fits" in res.render()
    f = next(f for f in res.findings if f.code == "init_scale")
    assert f.params == ("W1", "W2", "W3", "W4") and "from a fresh random" in f.evidence
    assert f.hint.startswith("re-initialise: scale the initial weights"), f.hint
