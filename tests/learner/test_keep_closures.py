"""What a learner's functions reach is kept and put back (``keep``): also the state of a
helper they close over (review s16: an Adam whose moments live in dicts only ``upd`` closes
over, called from ``step``, kept its moments from the end of the check when the check ran
again from its state before step 1: a false alarm on the data's halves)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner.keep import restore, snapshot


def test_state_held_by_a_helper_the_step_closes_over_is_put_back():
    M = {"W": np.zeros(3)}
    T = [0]

    def upd(g):
        M["W"] = 0.9 * M["W"] + 0.1 * g

    def step():
        T[0] += 1
        upd(np.ones(3))

    kept = snapshot(step)
    step()
    step()
    restore(kept)
    assert T == [0] and np.array_equal(M["W"], np.zeros(3))


def test_a_list_appended_to_is_put_back_to_its_length():
    """Review s49 F1: numpy-ml's layers append each forward's input to a list (``self.X``)
    and make a new one in ``update``: the list held before step 1 came back holding step 1's
    input, so a run again from that state zipped a stale batch with a new one (a false bug)."""

    class Layer:
        def __init__(self):
            self.X = []

        def forward(self, x):
            self.X.append(x)

        def update(self):
            self.X = []

    layer = Layer()
    kept = snapshot(layer)
    layer.forward(np.ones(3))
    layer.update()
    layer.X.append(np.zeros(2))
    restore(kept)
    assert layer.X == [] and isinstance(layer.X, list)
    held = [1, 2]
    kept = snapshot(held)
    held.pop()
    held.append(5)
    held.append(6)
    restore(kept)
    assert held == [1, 2]


class _Deep:
    """A parameter nine objects down (micrograd's View -> MLP -> layers -> Layer -> neurons ->
    Neuron -> w -> Value), past the snapshot's depth, behind a property."""

    def __init__(self, W):
        node = {"data": W}
        for _ in range(9):
            node = {"child": node}
        self.tree = node

    @property
    def W(self):
        node = self.tree
        while "child" in node:
            node = node["child"]
        return node["data"]

    @W.setter
    def W(self, value):
        node = self.tree
        while "child" in node:
            node = node["child"]
        node["data"] = np.array(value, dtype=float)  # rebinds: no array to write into


def test_a_parameter_below_the_snapshots_reach_is_put_back_by_its_name():
    """Review s50 F1: micrograd's weights lie eight levels down; the state kept before step 1
    came back without them, so every probe from it (data halves, missing class, clip) was
    skipped with a note blaming a global counter."""
    from nnparity.reference.learner import from_step

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    net = _Deep(rng.normal(size=(3, 1)))

    def step(Xb, yb):
        net.W = net.W - 0.1 * Xb.T @ (Xb @ net.W - yb) * 2 / len(Xb)

    a = from_step(net, ["W"], step, sizes=[3, 1], activations="identity", bias="none",
                  loss="mse", optimizer="sgd", lr=0.1, data=(X, y))  # fmt: skip
    before = net.W.copy()
    kept = a.keep()
    step(X, y)
    assert not np.array_equal(net.W, before)
    a.restore(kept)
    assert np.array_equal(net.W, before)
