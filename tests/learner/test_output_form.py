"""A forward pass that returns the logits where the last activation is declared sigmoid or
softmax (CS231n's ``loss(X)`` returns the scores): a note beside a match when the training
path applies the activation (review s9c #17: it was `wrong_activation`, identity for sigmoid),
and still a bug when the network lacks the activation altogether."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

R = np.random.default_rng(3)
X = R.normal(size=(12, 4))


def _net(last: str, sigmoid_in_training: bool = True):
    """4-6-K relu net; forward returns the scores; gradients through ``last`` (or not)."""
    k = 1 if last == "sigmoid" else 3
    y = (R.random((12, 1)) < 0.5).astype(float) if k == 1 else R.integers(0, 3, 12)
    P = {"W1": R.normal(0, 0.5, (4, 6)), "b1": np.zeros(6), "W2": R.normal(0, 0.5, (6, k)),
         "b2": np.zeros(k)}  # fmt: skip

    def scores(X):
        h = np.maximum(X @ P["W1"] + P["b1"], 0)
        return h, h @ P["W2"] + P["b2"]

    def grads(X, y):
        h, z = scores(X)
        if last == "sigmoid":
            a = 1 / (1 + np.exp(-z)) if sigmoid_in_training else z
            dz = (a - y) / y.size
        else:
            e = np.exp(z - z.max(1, keepdims=True))
            dz = e / e.sum(1, keepdims=True)
            dz[np.arange(len(y)), y] -= 1
            dz /= len(y)
        dh = dz @ P["W2"].T * (h > 0)
        return [X.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]

    loss = "bce" if last == "sigmoid" else "cross_entropy"
    a = from_gradients(P, list(P), grads, forward=lambda X: scores(X)[1], sizes=[4, 6, k],
                       activations=f"relu,{last}", loss=loss, lr=0.1)  # fmt: skip
    return a, y


@pytest.mark.parametrize(("last", "cut"), [("sigmoid", "at 0, not 0.5"), ("softmax", "largest")])
def test_logits_from_the_forward_pass_are_a_note_beside_a_match(last, cut):
    a, y = _net(last)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "match", r.render()
    (f,) = [f for f in r.findings if f.code == "logits_output"]
    assert f.kind == "note" and f"before its {last}" in f.evidence and cut in f.hint


def test_a_network_without_its_sigmoid_is_still_a_bug():
    a, y = _net("sigmoid", sigmoid_in_training=False)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert "logits_output" not in r.codes()


def test_a_forward_that_returns_labels_is_refused_with_the_function_to_pass():
    """Review s9c: forward=net.predict (a > 0.5) was an unexplained forward mismatch."""
    from nnparity.reference.learner import LearnerError

    a, y = _net("sigmoid")
    scores = a.forward
    a.forward = lambda X: (1 / (1 + np.exp(-scores(X))) > 0.5).astype(float)
    with pytest.raises(LearnerError, match="returns labels .* pass the function that returns"):
        check(a, X, y, steps=2, probe=False)


@pytest.mark.parametrize("transposed", [True, False])
def test_a_square_output_one_column_per_sample_is_a_note(transposed):
    """Review s10d: with as many outputs as samples (batch 3, 3 classes), a forward returning
    (classes, samples) was an unexplained forward mismatch; non-square it is read silently."""
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 1, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 1, (6, 3)),
         "b2": np.zeros(3)}  # fmt: skip
    X, y = r.normal(size=(12, 3)), r.integers(0, 3, 12)

    def forward(X):
        z = np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]
        e = np.exp(z - z.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        return p.T if transposed else p

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        z = h @ P["W2"] + P["b2"]
        e = np.exp(z - z.max(1, keepdims=True))
        d = e / e.sum(1, keepdims=True)
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        dh = d @ P["W2"].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

    a = from_gradients(P, list(P), grads, forward=forward, sizes=[3, 6, 3],
                       activations="tanh,softmax", loss="cross_entropy", lr=0.1,
                       batch_size=3)  # fmt: skip
    res = check(a, X, y, steps=3, probe=False)
    assert res.code == "match", res.render()
    assert ("forward_output_transposed" in res.codes()) == transposed


def _adam_step(last: str, forms: str, in_training: bool = True):
    """The same net behind a step that shows no gradients, stepped by Adam (PyTorch's form, or
    Saito's, eps before the bias correction; RMSprop with eps inside the root)."""
    k = 1 if last == "sigmoid" else 3
    r = np.random.default_rng(7)
    y = (r.random((12, 1)) < 0.5).astype(float) if k == 1 else r.integers(0, 3, 12)
    P = {"W1": r.normal(0, 0.5, (4, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.5, (6, k)),
         "b2": np.zeros(k)}  # fmt: skip
    S = {n: [np.zeros_like(v), np.zeros_like(v)] for n, v in P.items()}
    t = [0]

    def scores(X):
        h = np.maximum(X @ P["W1"] + P["b1"], 0)
        return h, h @ P["W2"] + P["b2"]

    def step(X, y):
        h, z = scores(X)
        if last == "sigmoid":
            dz = ((1 / (1 + np.exp(-z)) if in_training else z) - y) / y.size
        else:
            e = np.exp(z - z.max(1, keepdims=True))
            dz = e / e.sum(1, keepdims=True) if in_training else z.copy()
            dz[np.arange(len(y)), y] -= 1
            dz /= len(y)
        dh = dz @ P["W2"].T * (h > 0)
        G = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}
        t[0] += 1
        for n, g in G.items():
            m, v = S[n]
            if forms == "rmsprop_inside":
                v *= 0.99
                v += 0.01 * g * g
                P[n] -= 0.01 * g / np.sqrt(v + 1e-7)
                continue
            m += 0.1 * (g - m)
            v += 0.001 * (g * g - v)
            if forms == "nobc":  # no bias correction
                P[n] -= 0.01 * m / (np.sqrt(v) + 1e-7)
            elif forms == "saito":
                lr_t = 0.01 * np.sqrt(1 - 0.999 ** t[0]) / (1 - 0.9 ** t[0])
                P[n] -= lr_t * m / (np.sqrt(v) + 1e-7)
            else:
                m_hat, v_hat = m / (1 - 0.9 ** t[0]), v / (1 - 0.999 ** t[0])
                P[n] -= 0.01 * m_hat / (np.sqrt(v_hat) + 1e-7)

    opt = "rmsprop(alpha=0.99, eps=1e-7)" if forms == "rmsprop_inside" else "adam(eps=1e-7)"
    loss = "bce" if last == "sigmoid" else "cross_entropy"
    a = from_step(P, list(P), step, forward=lambda X: scores(X)[1], sizes=[4, 6, k],
                  activations=f"relu,{last}", loss=loss, optimizer=opt, lr=0.01)  # fmt: skip
    return a, y


def test_an_adaptive_step_slip_beside_logits_is_named_as_the_steps():
    """Review s60a F3: Adam without its bias correction beside a forward of logits was "the
    forward output parts" (the first step not the declared optimizer's): the logits are the
    forward's form (the note says the first step cannot tell), and the slip is named."""
    a, y = _adam_step("softmax", "nobc")
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].code == "optimizer_update_mismatch", r.render()
    assert "bias correction" in r.findings[0].evidence, r.render()


@pytest.mark.parametrize("forms", ["torch", "saito", "rmsprop_inside"])
@pytest.mark.parametrize("last", ["sigmoid", "softmax"])
def test_logits_beside_an_adaptive_step_that_hides_its_gradients(last, forms):
    """Review s59c F1: Saito's TwoLayerNet (predict returns the scores) under his Adam, AdaGrad
    or RMSprop was "the forward output parts" (SGD's steps imply their gradients; these do
    not): the first step, the declared optimizer's on PyTorch's gradients through the
    activation, shows it trains through it. Without the activation in training, still a bug."""
    a, y = _adam_step(last, forms)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "match", r.render()
    assert "logits_output" in r.codes(), r.render()
    a, y = _adam_step(last, forms, in_training=False)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()  # (the logits are still the forward's
    said = [f for f in r.findings if f.code == "logits_output"]  # form, never vouched for)
    assert all("your first step cannot tell" in f.evidence for f in said), r.render()


@pytest.mark.parametrize("in_training", [True, False])
def test_an_adaptive_first_step_that_cannot_tell_says_so(in_training):
    """Review s60a F4: inputs in [0, 1], a quarter positive, Adam: the first step is about
    -lr sign(g), the same with the output sigmoid in training and without it (dz = z - y).
    The logits are taken as the forward's form with a note that says the first step cannot
    tell; without the sigmoid in training the later steps part, a bug."""
    r = np.random.RandomState(0)
    Xr = r.rand(40, 5)
    y = (Xr[:, 0] + Xr[:, 1] > 1.4).astype(float).reshape(-1, 1)
    w = np.random.RandomState(45)
    P = {"W1": 0.5 * w.randn(5, 6), "b1": np.zeros(6), "W2": w.randn(6, 1), "b2": np.full(1, 0.5)}
    m = {k: np.zeros_like(v) for k, v in P.items()}
    v = {k: np.zeros_like(v) for k, v in P.items()}
    t = [0]

    def sig(z):
        return 1 / (1 + np.exp(-z))

    def step(X, y):
        h = sig(X @ P["W1"] + P["b1"])
        z = h @ P["W2"] + P["b2"]
        dz = ((sig(z) if in_training else z) - y) / len(X)
        dh = dz @ P["W2"].T * h * (1 - h)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}
        t[0] += 1
        for k in P:
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            mh, vh = m[k] / (1 - 0.9 ** t[0]), v[k] / (1 - 0.999 ** t[0])
            P[k] -= 0.01 * mh / (np.sqrt(vh) + 1e-8)

    def logits(X):
        return sig(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]

    a = from_step(P, list(P), step, forward=logits, sizes=[5, 6, 1],
                  activations="sigmoid,sigmoid", loss="bce", optimizer="adam", lr=0.01)  # fmt: skip
    res = check(a, Xr, y, steps=4, probe=False)
    assert res.code == ("match" if in_training else "implementation_bug"), res.render()
    (f,) = [f for f in res.findings if f.code == "logits_output"]
    assert "your first step cannot tell" in f.evidence, res.render()
