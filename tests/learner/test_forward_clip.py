"""An output clipped in the forward pass so that the log never sees 0 or 1, as Keras's backend
does, with dz = a - y taken from the clipped output (review s16b c08: `unexplained_mismatch
[forward]`, a false alarm). A safe log's epsilon (up to 1e-3) is a convention: the forward is
compared after the same clip and the gradient is the `out eps` candidate, each said in a note.
A clip far from a safe log's, or a real bug beside the clip, is still found."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _adapter(eps: float, bug: str | None = None):
    r = np.random.RandomState(1)
    P = {"W1": 12 * r.randn(3, 6) / np.sqrt(3), "b1": np.zeros(6),
         "W2": 12 * r.randn(6, 1) / np.sqrt(6), "b2": np.zeros(1)}  # fmt: skip  # x12: saturated

    def forward(X):
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        return a1, np.clip(1 / (1 + np.exp(-(a1 @ P["W2"] + P["b2"]))), eps, 1 - eps)

    def grads(X, y):
        a1, a = forward(X)
        dz2 = (a - y) / len(X) * (2 if bug == "double" else 1)
        dz1 = dz2 @ P["W2"].T * (1 - a1**2)
        return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

    return from_gradients(P, list(P), grads, forward=lambda X: forward(X)[1], sizes=[3, 6, 1],
                          activations="tanh,sigmoid", loss="bce", optimizer="sgd",
                          lr=0.1)  # fmt: skip


def _data():
    r = np.random.RandomState(0)
    X = r.randn(64, 3)
    return X, ((X[:, 0] * X[:, 1] + 0.5 * X[:, 2]) > 0).astype(float)[:, None]


@pytest.mark.parametrize("eps", [1e-7, 1e-5, 1e-4, 1e-3])  # 1e-3: Keras's (review s47 F2)
def test_a_safe_logs_clip_in_the_forward_pass_is_a_match_with_notes(eps):
    r = check(_adapter(eps), *_data(), steps=3, probe=False)
    assert r.code == "match", r.render()
    notes = [f for f in r.findings if f.code == "clip_convention"]
    if eps < 1e-6:  # within the tolerance: no note to make
        return
    assert [f.params for f in notes][0] == ("forward",), r.render()
    assert f"clips the sigmoid outputs to [{eps:.3g}, 1 - {eps:.3g}]" in notes[0].evidence


@pytest.mark.parametrize("eps, bug", [(0.1, None), (1e-5, "double")])
def test_a_clip_beyond_a_safe_logs_or_a_bug_beside_it_is_found(eps, bug):
    r = check(_adapter(eps, bug), *_data(), steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()


def _keras(lr: float):
    """Keras's clip of 1e-4 on a net that is not saturated at first: the clip first binds at
    one side alone after some steps (review s39 F4: a forward bug from step 54 or 142)."""
    from nnparity.reference.learner import from_loss

    r = np.random.RandomState(0)
    X = r.randn(10, 2)
    Y = (X[:, :1] + X[:, 1:] > 0).astype(float)
    g = np.random.RandomState(1)
    P = {"W1": g.randn(2, 4) * 0.5, "b1": np.zeros(4), "W2": g.randn(4, 1) * 0.5, "b2": np.zeros(1)}

    def forward(X):
        h = np.tanh(X @ P["W1"] + P["b1"])
        return h, np.clip(1 / (1 + np.exp(-(h @ P["W2"] + P["b2"]))), 1e-4, 1 - 1e-4)

    def loss(X, y):
        h, a = forward(X)
        d = (a - y) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        L = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
        return L, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    a = from_loss(P, loss, forward=lambda X: forward(X)[1], sizes=[2, 4, 1],
                  activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=lr)  # fmt: skip
    return check(a, X, Y, steps=3, probe=False)


@pytest.mark.parametrize("lr", [5.0, 10.0])
def test_a_clip_first_binding_later_on_one_side_is_a_note(lr):
    res = _keras(lr)
    assert res.code == "match", res.render()
    assert set(res.codes()) == {"clip_convention"}, res.render()


def test_a_float32_sigmoid_rounding_otherwise_near_1_is_no_clip():
    """Review s41: Nielsen's network with sigmoid as e / (1 + e) in float32, one row a step,
    lr 7: near 1 its outputs round one step below PyTorch's; read as a clip of 5e-4 at step 44,
    the twin clipped its outputs and a later one parted (exit 1). Outputs the forward record
    accepts need no clip."""

    def sigmoid(z):
        e = np.exp(z)
        return e / (1 + e)

    class Network:
        def __init__(self, sizes):
            rng = np.random.RandomState(0)
            self.sizes = sizes
            self.biases = [rng.randn(y, 1).astype(np.float32) for y in sizes[1:]]
            self.weights = [rng.randn(y, x).astype(np.float32)
                            for x, y in zip(sizes[:-1], sizes[1:], strict=True)]  # fmt: skip

        def feedforward(self, a):
            for b, w in zip(self.biases, self.weights, strict=True):
                a = sigmoid(w @ a + b)
            return a

        def backprop(self, x, y):
            nb = [np.zeros(b.shape, np.float32) for b in self.biases]
            nw = [np.zeros(w.shape, np.float32) for w in self.weights]
            activation, activations, zs = x, [x], []
            for b, w in zip(self.biases, self.weights, strict=True):
                zs.append(w @ activation + b)
                activation = sigmoid(zs[-1])
                activations.append(activation)
            delta = activations[-1] - y  # cross-entropy (network2)
            nb[-1], nw[-1] = delta, delta @ activations[-2].T
            for k in range(2, len(self.sizes)):
                s = sigmoid(zs[-k])
                delta = (self.weights[-k + 1].T @ delta) * s * (1 - s)
                nb[-k], nw[-k] = delta, delta @ activations[-k - 1].T
            return nb, nw

    r = np.random.RandomState(3)
    X = r.randn(12, 2).astype(np.float32)
    Y = (X[:, :1] + X[:, 1:] > 0.0).astype(np.float32)
    net = Network([2, 3, 1])
    a = from_gradients(
        net, ["weights[0]", "biases[0]", "weights[1]", "biases[1]"],
        lambda x, y: net.backprop(x.T, y.T), forward=lambda X: net.feedforward(X.T).T,
        sizes=[2, 3, 1], activations="sigmoid,sigmoid", loss="bce", optimizer="sgd", lr=7.0,
        batch_size=1,
    )  # fmt: skip
    res = check(a, X, Y, probe=False)
    assert res.code == "match", res.render()
    assert "clip_convention" not in res.codes(), res.render()
