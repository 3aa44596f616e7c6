"""State a learner's file keeps in module globals (an optimizer object's step counter, as
the nnfs book's ``Optimizer_SGD(decay=...)`` beside its layers) is put back between the
check's two runs of a step through ``nnparity check FILE`` as through the API: review s11
found the file's module, loaded as ``nnparity_learner_<stem>``, taken for nnparity's own by
its name, its globals never kept, and a correct decaying SGD called nondeterministic."""

from __future__ import annotations

import pytest

from nnparity.reference.learner import check
from nnparity.reference.learner.loader import load

LEARNER = """
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(16, 2))
Y = (X[:, :1] * X[:, 1:] > 0).astype(float)
P = {"W1": rng.normal(0, 0.5, (2, 4)), "b1": np.zeros(4),
     "W2": rng.normal(0, 0.5, (4, 1)), "b2": np.zeros(1)}
opt = {"lr": 0.5, "decay": 0.1, "t": 0}  # the optimizer's state, at module level


def forward(X):
    return np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]


def step(X, y):
    h = np.tanh(X @ P["W1"] + P["b1"])
    d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
    dh = d @ P["W2"].T * (1 - h**2)
    g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
    lr = opt["lr"] / (1 + opt["decay"] * opt["t"]){bug}
    for n in P:
        P[n] -= lr * g[n]
    opt["t"] += 1


def nnparity_adapter():
    from nnparity.reference.learner import from_step
    return from_step(P, list(P), step, forward=forward, sizes=[2, 4, 1],
                     activations="tanh,identity", loss="mse",
                     optimizer="sgd(lr_decay=0.1)", lr=0.5, data=(X, Y))
"""


@pytest.mark.parametrize("bug", ["", "\n    opt['t'] += 1  # the counter advanced twice"])
def test_module_level_optimizer_state_is_kept_for_a_file(tmp_path, bug):
    path = tmp_path / "nnfs_like.py"
    path.write_text(LEARNER.replace("{bug}", bug))
    adapter, _, _ = load(str(path))
    res = check(adapter, steps=3, probe=False)
    if not bug:
        assert res.code == "match", res.render()
    else:
        assert res.code == "implementation_bug", res.render()
        assert res.findings[0].code == "lr_schedule", res.render()
