"""State a learner's file keeps in module globals (an optimizer object's step counter, as
the nnfs book's ``Optimizer_SGD(decay=...)`` beside its layers) is put back between the
check's two runs of a step through ``nnparity check FILE`` as through the API: review s11
found the file's module, loaded as ``nnparity_learner_<stem>``, taken for nnparity's own by
its name, its globals never kept, and a correct decaying SGD called nondeterministic. Review
s11b then found the same false alarm for a counter kept as a class attribute, in a
``functools.partial``'s argument, in a module of the learner's own beside its file, and for a
step that is an object with ``__call__``."""

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
    _verdict(path, "lr_schedule" if bug else None)


def _verdict(path, named: str | None) -> None:
    """The file's check matches, or (``named``) leads with that finding."""
    adapter, _, _ = load(str(path))
    res = check(adapter, steps=3, probe=False)
    if named is None:
        assert res.code == "match", res.render()
    else:
        assert res.code == "implementation_bug", res.render()
        assert res.findings[0].code == named, res.render()


HOLDERS = {  # (definitions, the counter's read, its tick, the step the adapter is given)
    "class attribute": ("class Sched:\n    t = 0", "Sched.t", "Sched.t += 1", "step"),
    "partial": (
        "import functools",
        "st['t']",
        "st['t'] += 1",
        "functools.partial(pstep, {'t': 0})",
    ),
    "own module": ("import sched_beside", "sched_beside.t", "sched_beside.t += 1", "step"),
    "callable object": (
        "class Stepper:\n    def __call__(self, X, y):\n        return step(X, y)",
        "opt['t']",
        "opt['t'] += 1",
        "Stepper()",
    ),
}
HELD = """
import numpy as np
{defs}

rng = np.random.default_rng(0)
X = rng.normal(size=(16, 2))
Y = (X[:, :1] * X[:, 1:] > 0).astype(float)
P = {{"W1": rng.normal(0, 0.5, (2, 4)), "b1": np.zeros(4),
     "W2": rng.normal(0, 0.5, (4, 1)), "b2": np.zeros(1)}}
opt = {{"t": 0}}


def pstep(st, X, y):
    h = np.tanh(X @ P["W1"] + P["b1"])
    d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size{bug}
    dh = d @ P["W2"].T * (1 - h**2)
    g = {{"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}}
    lr = 0.5 / (1 + 0.1 * {read})
    for n in P:
        P[n] -= lr * g[n]
    {tick}


def step(X, y):
    return pstep(None, X, y)


def nnparity_adapter():
    from nnparity.reference.learner import from_step
    return from_step(P, list(P), {given}, sizes=[2, 4, 1], activations="tanh,identity",
                     loss="mse", optimizer="sgd(lr_decay=0.1)", lr=0.5, data=(X, Y))
"""


@pytest.mark.parametrize("holder", list(HOLDERS))
@pytest.mark.parametrize("bug", ["", " * len(y)"])
def test_a_counter_held_elsewhere_is_kept_too(tmp_path, holder, bug):
    defs, read, tick, given = HOLDERS[holder]
    own = f"sched_{tmp_path.name.replace('-', '_')}"  # one per test: sys.modules keeps it
    (tmp_path / f"{own}.py").write_text("t = 0\n")
    path = tmp_path / f"held_{holder.replace(' ', '_')}.py"
    text = HELD.format(defs=defs, read=read, tick=tick, given=given, bug=bug)
    path.write_text(text.replace("sched_beside", own))
    _verdict(path, "scale_factor" if bug else None)
