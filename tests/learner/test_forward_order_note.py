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


@pytest.mark.parametrize("cached", [False, True, "stale"])
def test_the_forward_order_note_only_where_a_cache_could_part(cached):
    """``cached``: the step backprops what the last forward call left (the note's case, whose
    mismatches start at step 2); ``"stale"``: so does it, from a call the program made on
    other data before the check, so it parts at step 1, where running step 1 again with the
    forward called first shows it (stale_input); else the step runs its own forward and its
    update has an unnamed slip from step 1 (no note, no stale_input)."""
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

    if cached == "stale":  # the program evaluates its test set before training
        forward(r.randn(16, 3))
    a = from_step(P, ["W1", "b1", "W2", "b2"], step, forward=forward, sizes=[3, 6, 1],
                  activations="sigmoid,sigmoid", loss="bce", optimizer="adam", lr=0.01,
                  batch_size=16)  # fmt: skip
    res = check(a, X, Y, steps=4, probe=False)
    assert res.code == "implementation_bug", res.render()
    notes = [f.code for f in res.findings if f.code in ("step_forward_order", "stale_input")]
    first = min(f.step for f in res.findings if f.kind == "bug")
    assert (first > 1) == (cached is True), res.render()
    want = {True: ["step_forward_order"], False: [], "stale": ["stale_input"]}[cached]
    assert notes == want, res.render()
    assert cached != "stale" or res.findings[0].code == "stale_input"


STALE_FILE = """
import numpy as np
rng = np.random.RandomState(8)
Xtr = rng.randn(32, 4); Ytr = (Xtr[:, :1] * Xtr[:, 1:2] > 0).astype(float)
class Net:
    def __init__(self):
        self.W1 = rng.randn(4, 6) * 0.7; self.b1 = np.zeros(6)
        self.W2 = rng.randn(6, 1) * 0.7; self.b2 = np.zeros(1)
    def forward(self, X):
        self.X, self.a1 = X, np.tanh(X @ self.W1 + self.b1)
        self.out = 1 / (1 + np.exp(-(self.a1 @ self.W2 + self.b2)))
        return self.out
    def backward(self, X, y, lr=0.5):
        d2 = (self.out - y) / len(y)
        d1 = d2 @ self.W2.T * (1 - self.a1 ** 2)
        self.W2 -= lr * self.a1.T @ d2; self.b2 -= lr * d2.sum(0)
        self.W1 -= lr * self.X.T @ d1; self.b1 -= lr * d1.sum(0)
net = Net()
test_pred = net.forward(rng.randn(32, 4))  # the test set, evaluated before training
def nnparity_adapter():
    from nnparity import from_step
    return from_step(net, ["W1", "b1", "W2", "b2"], net.backward, forward=net.forward,
        sizes=[4, 6, 1], activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.5,
        data=(Xtr, Ytr))
"""


def test_the_experiment_runs_in_the_sandbox_too(tmp_path, capsys):
    """The check's own process keeps the learner's state before step 1 through the whole run
    (the sandbox kept its last four snapshots only, and the experiment found nothing)."""
    from nnparity.reports.cli import main

    f = tmp_path / "stale.py"
    f.write_text(STALE_FILE)
    main(["check", str(f), "--no-probe", "--steps", "4"])
    out = capsys.readouterr().out
    assert out.startswith("code: implementation_bug") and "1. stale_input" in out, out
