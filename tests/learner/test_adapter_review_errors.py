"""Adapter mistakes found by review, each a clear LearnerError (exit 2 on the command line):
a complex gradient was cast to real in silence (match, exit 0), a gradient function returning
None was a traceback (exit 3), and sizes="3-4-1" gave "invalid literal for int()"."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_loss
from nnparity.reference.learner.paths import LearnerError

X = np.random.default_rng(0).standard_normal((6, 3))
Y = np.random.default_rng(1).standard_normal((6, 1))


def _params():
    rng = np.random.default_rng(2)
    return {"W1": rng.standard_normal((3, 4)), "b1": np.zeros(4),
            "W2": rng.standard_normal((4, 1)), "b2": np.zeros(1)}  # fmt: skip


def _grads(p, X, y):
    h = np.tanh(X @ p["W1"] + p["b1"])
    out = h @ p["W2"] + p["b2"]
    d = 2 * (out - y) / out.size
    dh = (d @ p["W2"].T) * (1 - h**2)
    return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}


DECL = dict(activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1)


def _adapter(grads, **kw):
    p = _params()
    return from_gradients(
        p, list(p), lambda X, y: grads(p, X, y), **{"sizes": [3, 4, 1], **DECL, **kw}
    )


def test_a_correct_learner_matches():
    assert check(_adapter(_grads), X, Y, probe=False).code == "match"


def test_a_complex_gradient_is_refused_by_name():
    def complex_grads(p, X, y):
        return {**_grads(p, X, y), "W1": _grads(p, X, y)["W1"] + 0.5j}

    with pytest.raises(LearnerError, match="^W1's gradient is complex .* return a real float"):
        check(_adapter(complex_grads), X, Y, probe=False)


def test_a_gradient_function_returning_none_is_named():
    with pytest.raises(LearnerError, match="your gradient function returned None"):
        check(_adapter(lambda p, X, y: None), X, Y, probe=False)


def test_sizes_in_the_specs_notation_are_read():
    assert check(_adapter(_grads, sizes="3-4-1"), X, Y, probe=False).code == "match"


@pytest.mark.parametrize("bad", ["3-x-1", [3, 4.5, 1], "341x"])
def test_sizes_that_are_not_whole_numbers_say_how_to_write_them(bad):
    p = _params()
    with pytest.raises(LearnerError, match=r"give the layer widths as a list of whole numbers"):
        from_loss(p, lambda X, y: None, sizes=bad, **DECL)


def test_one_bias_shared_by_a_layers_units_is_told_one_per_unit():
    """Matt Mazur's walkthrough keeps one bias per layer, shared by its units."""
    p = _params()
    p["b1"] = np.float64(0.35)
    a = from_gradients(p, list(p), lambda X, y: _grads(p, X, y), sizes=[3, 4, 1], **DECL)
    with pytest.raises(LearnerError) as e:
        check(a, X, Y, steps=1)
    said = str(e.value)
    assert said.startswith("parameter 'b1' has shape (); layer 1 (3 -> 4) needs (4,)"), said
    assert "one bias shared by the layer's 4 units" in said and "np.full(4, b)" in said, said
