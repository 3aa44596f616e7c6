"""The loss a hidden step returns under a layered ``spec=`` (adapters.py ``_implied``) goes on to
the check, where it replays dropout's masks from NumPy's generator: iamtrask's dropout post as
published (the mask applied in place to the sigmoid's output) was refused with "return the
loss" even when its step returned it (review s28 f14). Both ways: the post as written is named
``inplace_mutation``, the same step written right matches, and a step returning nothing is
refused as before."""

import numpy as np
import pytest

from nnparity.reference.learner import LearnerError, check, from_step


def _trask(form: str):
    np.random.seed(1)
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], float)
    y = np.array([[0, 1, 1, 0]], float).T
    g = {"w0": 2 * np.random.random((3, 4)) - 1, "w1": 2 * np.random.random((4, 1)) - 1}

    def step(X, y):
        h = 1 / (1 + np.exp(-(X @ g["w0"])))
        m = np.random.binomial([np.ones((len(X), 4))], 0.8)[0] * (1.0 / 0.8)
        a1 = h * m
        a2 = 1 / (1 + np.exp(-(a1 @ g["w1"])))
        d2 = (a2 - y) * a2 * (1 - a2)
        at = a1 if form == "published" else h  # the post reads sigmoid' off the dropped a1
        d1 = d2 @ g["w1"].T * at * (1 - at) * (1 if form == "published" else m)
        g["w1"] -= 0.5 * a1.T @ d2
        g["w0"] -= 0.5 * X.T @ d1
        return None if form == "silent" else 0.5 * np.sum((a2 - y) ** 2)

    a = from_step(g, ["['w0']", "['w1']"], step, reduction="sum",
                  spec="3 dense(4) sigmoid dropout(0.2) dense(1) sigmoid bias=false "
                  "loss=half_sse opt=sgd(lr=0.5)")  # fmt: skip
    return a, X, y


@pytest.mark.parametrize("form", ["right", "published"])
def test_the_loss_a_step_returns_replays_the_masks(form):
    a, X, y = _trask(form)
    r = check(a, X, y, steps=4, probe=False)
    if form == "right":
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].code == "inplace_mutation", r.render()


def test_a_step_that_returns_nothing_is_still_asked_for_its_loss():
    a, X, y = _trask("silent")
    with pytest.raises(LearnerError, match="return the loss"):
        check(a, X, y, steps=4, probe=False)
