"""A step divided by the data set's rows where the update averages a mini-batch (Nielsen's
eta/n in place of eta/len(mini_batch)): the step is B/M times the declared one, and it is
named so (review s10a: 'c = 0.3333: use the declared learning rate', which the learner did)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


@pytest.mark.parametrize("bug", [True, False])
def test_a_step_over_the_datas_rows_is_named(bug):
    r = np.random.default_rng(1)
    P = {"W": r.normal(0, 0.5, (3, 2)), "b": np.zeros(2)}
    X, Y = r.normal(size=(32, 3)), r.normal(size=(32, 2))
    last = {}

    def grads(X, y):
        d = 2 * (X @ P["W"] + P["b"] - y) / y.size
        last["g"] = [X.T @ d, d.sum(0)]
        return last["g"]

    def step(X, y):
        for p, g in zip(P.values(), last["g"], strict=True):
            p -= 0.1 * (len(X) / len(Y) if bug else 1.0) * g  # eta / n, n = len(training data)

    a = from_gradients(P, ["W", "b"], grads, step=step, sizes=[3, 2], activations="identity",
                       loss="mse", lr=0.1, batch_size=8)  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    if not bug:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "optimizer_update_mismatch" and "B/M" in f.evidence, res.render()
    assert "(B = 8, M = 32)" in f.evidence and "len(mini_batch)" in f.hint
