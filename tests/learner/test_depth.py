"""Before ``capacity`` ("add units, layers or biases"), the networks more of them cannot help
(depth.py, review s19b): a network whose hidden layers are all linear, and one whose first
layer's gradient has vanished on its way down. Each tested both ways."""

from __future__ import annotations

import numpy as np
import pytest
from test_remedies import XOR, _mlp

from nnparity.reference.learner import check


@pytest.mark.parametrize("hidden", ["identity", "tanh"])
def test_identity_hidden_units_make_a_linear_network(hidden):
    r = check(_mlp([2, 4, 1], [hidden, "sigmoid"], "bce", "sgd(lr=0.5)"), *XOR, steps=2)
    if hidden == "tanh":  # a nonlinearity: XOR fits
        assert r.training.outcome == "fits", r.render()
        return
    assert r.training_codes() == ["linear_network"], r.render()
    assert "put a nonlinear activation" in r.finding("linear_network").hint


def _deep(layers: int):
    r = np.random.default_rng(2)
    X = r.normal(size=(64, 2))
    y = ((X[:, :1] * X[:, 1:]) > 0).astype(float)  # the quadrants: a hidden layer fits it
    sizes = [2] + [8] * (layers - 1) + [1]
    return _mlp(sizes, ["sigmoid"] * layers, "bce", "sgd(lr=0.1)"), X, y


def test_ten_sigmoid_layers_are_vanishing_gradients_not_capacity():
    adapter, X, y = _deep(10)
    r = check(adapter, X, y, steps=2)
    assert r.training_codes() == ["vanishing_gradients"], r.render()
    assert "capacity" not in r.codes() and "use fewer layers" in r.findings[0].hint


def test_one_unit_on_a_ring_is_still_capacity():
    """Two layers, gradients of one size: not vanishing, and adding units is the fix."""
    r = np.random.default_rng(0)
    X = r.normal(size=(80, 2))
    y = (np.hypot(*X.T) < 1.1).astype(float)[:, None]
    res = check(_mlp([2, 1, 1], ["tanh", "sigmoid"], "bce", "sgd(lr=1.0)"), X, y, steps=2)
    assert "capacity" in res.codes() and "vanishing_gradients" not in res.codes(), res.render()
