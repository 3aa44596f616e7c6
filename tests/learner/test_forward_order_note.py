"""The step_forward_order note (forward= runs after each step, so a step that backprops the
previous forward call's cache parts) stands beside unexplained mismatches that start after
step 1; before step 1 no forward= call has run, so a mismatch there is not that (review s13:
the note beside an Adam step with a doubled sigmoid derivative pointed at a cache the step
never read)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _sig(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("cached", [False, True])
def test_the_forward_order_note_only_where_a_cache_could_part(cached):
    """``cached``: the step backprops what the last forward call left (the note's case, whose
    mismatches start at step 2); else the step runs its own forward and its update has an
    unnamed slip from step 1 (no note)."""
    r = np.random.RandomState(21)
    X = r.randn(48, 3)
    Y = (X[:, :1] - X[:, 1:2] > 0).astype(float)
    P = {"W1": r.randn(3, 6) * 0.5, "b1": np.zeros(6), "W2": r.randn(6, 1) * 0.5,
         "b2": np.zeros(1)}  # fmt: skip
    M = {k: np.zeros_like(v) for k, v in P.items()}
    V = {k: np.zeros_like(v) for k, v in P.items()}
    seen, t = {}, [0]

    def forward(X):
        seen["X"], seen["a1"] = X, _sig(X @ P["W1"] + P["b1"])
        seen["a2"] = _sig(seen["a1"] @ P["W2"] + P["b2"])
        return seen["a2"]

    def step(X, y):
        if not cached or "X" not in seen:
            forward(X)
        Xc, a1, a2 = seen["X"], seen["a1"], seen["a2"]
        d2 = (a2 - y) / len(y) * (1 if cached else a2 * (1 - a2))
        d1 = d2 @ P["W2"].T * a1 * (1 - a1)
        g = {"W1": Xc.T @ d1, "b1": d1.sum(0), "W2": a1.T @ d2, "b2": d2.sum(0)}
        t[0] += 1
        for k in P:
            M[k] = 0.9 * M[k] + 0.1 * g[k]
            V[k] = 0.999 * V[k] + 0.001 * g[k] ** 2
            mh, vh = M[k] / (1 - 0.9 ** t[0]), V[k] / (1 - 0.999 ** t[0])
            P[k] -= 0.01 * mh / (np.sqrt(vh) + 1e-8)

    a = from_step(P, ["W1", "b1", "W2", "b2"], step, forward=forward, sizes=[3, 6, 1],
                  activations="sigmoid,sigmoid", loss="bce", optimizer="adam", lr=0.01,
                  batch_size=16)  # fmt: skip
    res = check(a, X, Y, steps=4, probe=False)
    assert res.code == "implementation_bug", res.render()
    notes = [f.code for f in res.findings if f.code == "step_forward_order"]
    first = min(f.step for f in res.findings if f.kind == "bug")
    assert (first > 1) == cached, res.render()
    assert notes == (["step_forward_order"] if cached else []), res.render()
