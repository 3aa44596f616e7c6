"""A declared lr_decay whose step counter advances at each parameter's or layer's update
(review s30a F2, F3): each unit's own lr / (1 + d ((t - 1) U + i)) is named as that counting;
it was an unexplained gradient (c = 0.98 on W2, 0.97 on b2) or "no known sgd variant"."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

D, LR = 0.05, 0.1


def _adapter(per: str | None, reverse: bool = False):
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 0.6, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.6, (6, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    it = [0]

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        keys = list(P)[::-1] if reverse else list(P)
        for i, k in enumerate(keys):
            P[k] -= LR / (1 + D * it[0]) * g[k]
            if per == "param" or (per == "layer" and i % 2 == 1):
                it[0] += 1
        if per is None:
            it[0] += 1

    return from_step(P, list(P), step, sizes=[3, 6, 1], activations="tanh,identity", loss="mse",
                     optimizer=f"sgd(lr_decay={D})", lr=LR)  # fmt: skip


def _data():
    r = np.random.default_rng(1)
    X = r.normal(size=(16, 3))
    return X, np.sin(X[:, :1])


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize(("per", "said"), [("param", "parameter's"), ("layer", "layer's")])
def test_a_decay_counter_per_update_is_named(per, said, reverse):
    r = check(_adapter(per, reverse), *_data(), steps=4, probe=False)
    assert r.codes() == ["lr_schedule"], r.render()
    f = r.findings[0]
    assert f"step counter advanced at each {said} update" in f.evidence, f.evidence
    assert "once per step" in f.hint


def test_a_counter_once_per_step_matches():
    assert check(_adapter(None), *_data(), steps=4, probe=False).code == "match"
