"""A momentum velocity zeroed every few calls inside a hidden SGD step (review s18b: an
"epoch" counter of the step's own, parted at step 6 as an unexplained gradient): named as a
restart, with the steps it happened at; a velocity kept throughout matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(every: int | None, wd: float = 0.0):
    r = np.random.default_rng(6)
    P = {"W1": r.normal(0, 0.6, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.6, (6, 2)),
         "b2": np.zeros(2)}  # fmt: skip
    V = {k: np.zeros_like(v) for k, v in P.items()}
    calls = [0]

    def step(x, y):
        calls[0] += 1
        if every and calls[0] % every == 1 and calls[0] > 1:  # the bug: a new "epoch"
            for v in V.values():
                v[...] = 0.0
        h = np.tanh(x @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        for k, p in P.items():
            V[k][...] = 0.9 * V[k] + g[k] + wd * p
            p -= 0.05 * V[k]

    opt = f"sgd(momentum=0.9,weight_decay={wd})" if wd else "sgd(momentum=0.9)"
    return from_step(P, list(P), step, sizes=[3, 6, 2], activations="tanh,identity", loss="mse",
                     optimizer=opt, lr=0.05)  # fmt: skip


def _data():
    r = np.random.default_rng(7)
    X = r.normal(size=(24, 3))
    return X, np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])], axis=1)


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_a_velocity_zeroed_every_four_calls_is_named_with_its_steps(wd):
    r = check(_adapter(4, wd), *_data(), steps=10, probe=False)
    f = r.findings[0]
    assert f.code == "optimizer_update_mismatch" and f.step == 5, r.render()
    assert "velocity restarts from zero at steps 5, 9 (every 4 steps)" in f.evidence, r.render()


def test_a_velocity_kept_throughout_matches():
    assert check(_adapter(None), *_data(), steps=10, probe=False).code == "match"
