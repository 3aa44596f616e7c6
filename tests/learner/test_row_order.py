"""Data kept from an earlier call: with one batch, every second step hands the batch in another
row order, each row moved up one place (row_order.py). Tested both ways: correct code matches
(a mean over samples does not depend on their order); an input cached on the first call only,
or a stored X or y paired with what each call gives, is named ``stale_input``; a forward that
keeps its own data throughout (X and y both) is correct on one batch and said in a note, not
called a bug."""

import numpy as np
import pytest
from tanh_net import adapter, net

from nnparity import check
from nnparity.reference.learner import from_gradients, from_layers
from nnparity.reference.learner.row_order import rows_at

_data = net


def _grads_adapter(P, grads, forward=None):
    return adapter(P, grads, forward=forward)


def _backward(P, X, h, Y):
    W1, b1, W2, b2 = P
    do = 2 * (h @ W2 + b2 - Y) / Y.size
    dh = do @ W2.T * (1 - h**2)
    return [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]


def test_rows_come_reordered_at_even_steps_of_one_batch_only():
    one = [np.arange(4)]
    assert [list(rows_at(one, k)) for k in (1, 2, 3)] == [[0, 1, 2, 3], [1, 2, 3, 0], [0, 1, 2, 3]]
    two = [np.arange(2), np.arange(2, 4)]
    assert [list(rows_at(two, k)) for k in (1, 2, 3)] == [[0, 1], [2, 3], [0, 1]]
    assert list(rows_at([np.arange(1)], 2)) == [0]


def test_correct_code_matches_with_the_rows_reordered():
    P, X, Y = _data()

    def grads(X, Y):
        h = np.tanh(X @ P[0] + P[1])
        return _backward(P, X, h, Y)

    r = check(_grads_adapter(P, grads), X, Y, steps=4, probe=False)
    assert r.code == "match", r.render()
    assert "ignores_rows" not in [f.code for f in r.unchecked]


def test_an_input_cached_on_the_first_call_only_is_named():
    P, X, Y = _data()
    cache = {}

    def grads(X, Y):
        cache.setdefault("X", X)  # the bug: the layer's input saved once
        h = np.tanh(X @ P[0] + P[1])
        return _backward(P, cache["X"], h, Y)

    r = check(_grads_adapter(P, grads), X, Y, steps=4, probe=False)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "stale_input" and f.step == 2 and f.params == ("[0]",), r.render()
    assert "as it was at step 1" in f.evidence


def test_a_stored_X_paired_with_each_call_s_y_is_named():
    P, X0, Y = _data()

    def grads(X, Y):  # the bug: the network computes on the X it was built with
        h = np.tanh(X0 @ P[0] + P[1])
        return _backward(P, X0, h, Y)

    r = check(_grads_adapter(P, grads), X0, Y, steps=4, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert r.codes() == ["stale_input"] and r.findings[0].step == 2, r.render()
    assert "step 1's X with this step's y" in r.findings[0].evidence


def test_a_network_that_keeps_its_own_X_and_y_throughout_is_stale_input():
    """Correct on its one batch, but its forward answers for X0 whatever it is given: was a
    note; a forward called on rows of its own (forward_input.py) shows predictions on a test
    set would be the training set's (review s36 F2)."""
    P, X0, Y0 = _data()

    def forward(X):
        return np.tanh(X0 @ P[0] + P[1]) @ P[2] + P[3]

    def grads(X, Y):  # the adapter hands nothing on: correct on its one batch
        h = np.tanh(X0 @ P[0] + P[1])
        return _backward(P, X0, h, Y0)

    r = check(_grads_adapter(P, grads, forward), X0, Y0, steps=4, probe=False)
    assert r.code == "implementation_bug" and r.codes() == ["stale_input"], r.render()
    assert "answers for other data" in r.findings[0].evidence, r.render()


def test_a_forward_that_follows_the_rows_has_no_note():
    P, X, Y = _data()

    def forward(X):
        return np.tanh(X @ P[0] + P[1]) @ P[2] + P[3]

    def grads(X, Y):
        return _backward(P, X, np.tanh(X @ P[0] + P[1]), Y)

    r = check(_grads_adapter(P, grads, forward), X, Y, steps=4, probe=False)
    assert r.code == "match" and "ignores_rows" not in [f.code for f in r.unchecked], r.render()


class _Dense:
    def __init__(self, W, b, stale):
        self.W, self.b, self.stale, self.x = W, b, stale, None
        self.dW, self.db = np.zeros_like(W), np.zeros_like(b)

    def forward(self, x):
        if not (self.stale and self.x is not None):
            self.x = x
        return x @ self.W + self.b

    def backward(self, d):
        self.dW, self.db = self.x.T @ d, d.sum(0)
        return d @ self.W.T


@pytest.mark.parametrize("stale", [False, True])
def test_layer_objects_caching_their_input_once(stale):
    P, X, Y = _data()
    l1, l2 = _Dense(P[0], P[1], stale), _Dense(P[2], P[3], stale)

    def forward(X):
        return l2.forward(np.tanh(l1.forward(X)))

    def backward(X, Y):
        h = np.tanh(l1.forward(X))
        out = l2.forward(h)
        d = l2.backward(2 * (out - Y) / Y.size)
        l1.backward(d * (1 - h**2))

    a = from_layers(
        [l1, l2], backward, weights="W", biases="b", dweights="dW", dbiases="db",
        forward=forward, sizes=[4, 5, 3], activations="tanh,identity", loss="mse",
        optimizer="sgd", lr=0.1,
    )  # fmt: skip
    r = check(a, X, Y, steps=4, probe=False)
    if not stale:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].code == "stale_input" and r.findings[0].step == 2, r.render()


def test_a_stored_y_paired_with_each_call_s_X_is_named():
    P, X, Y0 = _data()

    def grads(X, Y):  # the bug: the targets the network was built with
        h = np.tanh(X @ P[0] + P[1])
        return _backward(P, X, h, Y0)

    r = check(_grads_adapter(P, grads), X, Y0, steps=4, probe=False)
    assert r.codes() == ["stale_input"] and r.findings[0].step == 2, r.render()
    assert "this step's X with step 1's y" in r.findings[0].evidence
    assert "each moved up one place" in r.findings[0].evidence


def _convnet(kept):
    from layer_impls import example

    m = example("net_convnet_ok")

    class Net(m.ThreeLayerConvNet):
        def loss(self, X, y=None):
            if y is None:
                return super().loss(X)
            self.__dict__.setdefault("kept", (X, y))  # the bug (kept != ""): saved once
            X0, y0 = self.kept
            return super().loss(X0 if kept == "X" else X, y0 if kept == "y" else y)

    return m.nnparity_adapter(Net())


@pytest.mark.parametrize("kept", ["", "X", "y"])
def test_a_layered_network_that_keeps_data_from_the_first_call(kept):
    from nnparity.reference.learner import check as check_adapter

    a = _convnet(kept)
    r = check_adapter(a, *a.data, steps=3)
    if not kept:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug" and r.codes()[0] == "stale_input", r.render()
    assert r.findings[0].step == 2
    want = "step 1's X with this step's y" if kept == "X" else "this step's X with step 1's y"
    assert want in r.findings[0].evidence


def test_an_input_kept_from_the_first_of_several_batches_is_named():
    P, X0, Y = _data()
    kept = {}

    def grads(X, Y):
        X1 = kept.setdefault("X", X)  # the bug: the network computes on the first batch
        h = np.tanh(X1 @ P[0] + P[1])
        return _backward(P, X1, h, Y)

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[4, 5, 3], activations="tanh,identity",
        loss="mse", optimizer="sgd", lr=0.1, layout="in_out", batch_size=6,
    )  # fmt: skip
    r = check(a, X0, Y, steps=4, probe=False)
    assert r.codes() == ["stale_input"] and r.findings[0].step == 2, r.render()
    assert "another batch than step 1's" in r.findings[0].evidence


@pytest.mark.parametrize("bug", [False, True])
def test_an_input_kept_once_on_xor_s_palindromic_labels_is_named(bug):
    """y = 0 1 1 0 reads the same reversed: a reversal would pair step 1's X with the same y."""
    r = np.random.RandomState(2)
    P = [r.randn(2, 4), np.zeros(4), r.randn(4, 1), np.zeros(1)]
    X, Y = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]]), np.array([[0.0], [1], [1], [0]])
    kept = {}

    def grads(Xb, Yb):
        X1 = kept.setdefault("X", Xb) if bug else Xb
        h = np.tanh(X1 @ P[0] + P[1])
        do = 2 * (h @ P[2] + P[3] - Yb) / Yb.size
        dh = do @ P[2].T * (1 - h**2)
        return [X1.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[2, 4, 1], activations="tanh,identity",
        loss="mse", optimizer="sgd", lr=0.5, layout="in_out",
    )  # fmt: skip
    res = check(a, X, Y, steps=4, probe=False)
    if not bug:
        assert res.code == "match", res.render()
        return
    assert res.codes() == ["stale_input"], res.render()
