"""``gradient_accumulation`` (LEARNER_BUGS.md 16): gradient buffers added into (``dW += ...``)
and never reset. Named with its fix, and never mistaken for nondeterminism although the
determinism probe's second backward pass doubles the gradient."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_layers, from_step

NAMES = ["layers[0].W", "layers[0].b", "layers[1].W", "layers[1].b"]
DECL = dict(sizes=[3, 4, 2], activations="tanh,identity", loss="half_sse", optimizer="sgd", lr=0.1)


class Dense:
    def __init__(self, n_in, n_out, rng, accumulate):
        self.W, self.b = rng.normal(0, 0.5, (n_in, n_out)), np.zeros(n_out)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.accumulate = accumulate

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dz):
        if self.accumulate:  # the bug: nothing zeroes dW / db between passes
            self.dW += self.x.T @ dz
            self.db += dz.sum(0)
        else:
            self.dW, self.db = self.x.T @ dz, dz.sum(0)
        return dz @ self.W.T


def _net(accumulate):
    rng = np.random.default_rng(0)
    layers = [Dense(3, 4, rng, accumulate), Dense(4, 2, rng, accumulate)]

    def forward_backward(X, y):
        h = np.tanh(layers[0].forward(X))
        out = layers[1].forward(h)
        layers[0].backward(layers[1].backward((out - y) / len(X)) * (1 - h**2))

    return layers, forward_backward


def _data():
    return np.random.default_rng(1).normal(size=(6, 3)), np.random.default_rng(2).normal(
        size=(6, 2)
    )


def _layers(accumulate):
    layers, fb = _net(accumulate)
    return from_layers(layers, fb, weights="W", biases="b", dweights="dW", dbiases="db", **DECL)


def _gradients(accumulate):
    layers, fb = _net(accumulate)

    def grads(X, y):
        fb(X, y)
        return [(l.dW, l.db) for l in layers]

    return from_gradients({"layers": layers}, NAMES, grads, **DECL)


def _step(accumulate):
    layers, fb = _net(accumulate)

    def step(X, y):
        fb(X, y)
        for l in layers:
            l.W -= 0.1 * l.dW
            l.b -= 0.1 * l.db

    return from_step({"layers": layers}, NAMES, step, **DECL)


@pytest.mark.parametrize("make", [_layers, _gradients, _step])
def test_accumulating_gradients_are_named_with_the_fix(make):
    X, y = _data()
    r = check(make(True), X, y, steps=3, probe=False)
    assert r.code == "implementation_bug"
    assert r.codes() == ["gradient_accumulation"], r.render()
    f = r.findings[0]
    assert "zero dW/db before each backward pass" in f.hint
    assert "nondeterministic" not in r.codes()


@pytest.mark.parametrize("make", [_layers, _gradients, _step])
def test_the_same_code_with_fresh_buffers_matches(make):
    X, y = _data()
    r = check(make(False), X, y, steps=3, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


def test_a_random_draw_is_still_nondeterministic():
    X, y = _data()
    layers, fb = _net(False)
    rng = np.random.default_rng()

    def noisy(X, y):
        fb(X, y)
        layers[0].dW = layers[0].dW * rng.uniform(0.5, 1.5)  # e.g. an unseeded dropout scale

    a = from_layers(layers, noisy, weights="W", biases="b", dweights="dW", dbiases="db", **DECL)
    r = check(a, X, y, steps=2, probe=False)
    assert r.codes()[0] == "nondeterministic" and "gradient_accumulation" not in r.codes()


@pytest.mark.parametrize("opt", ["sgd(momentum=0.9)", "adam"])
@pytest.mark.parametrize("accumulate", [False, True])
def test_a_step_that_runs_its_own_backward_into_unreset_buffers(opt, accumulate):
    """grads= and a step= that runs the backward pass again: two passes per step add up
    under a stateful optimizer too (the determinism probe does not run there)."""
    X, y = _data()
    layers, fb = _net(accumulate)
    state: dict = {}

    def grads(X, y):
        fb(X, y)
        return [(l.dW, l.db) for l in layers]

    def step(X, y):
        fb(X, y)  # its own backward pass
        for i, l in enumerate(layers):
            for name in ("W", "b"):
                g = getattr(l, "d" + name)
                if opt == "adam":
                    m, v, t = state.get((i, name), (0.0, 0.0, 0))
                    m, v, t = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g, t + 1
                    state[(i, name)] = (m, v, t)
                    d = 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
                else:
                    d = 0.1 * (0.9 * state[(i, name)] + g if (i, name) in state else g)
                    state[(i, name)] = d / 0.1
                setattr(l, name, getattr(l, name) - d)

    decl = {**DECL, "optimizer": opt}
    a = from_gradients({"layers": layers}, NAMES, grads, step=step, **decl)
    r = check(a, X, y, steps=3, probe=False)
    if not accumulate:
        assert r.code == "match", r.render()
        return
    assert r.codes()[0] == "gradient_accumulation", r.render()
    assert "your step runs a backward pass of its own" in r.findings[0].evidence


def test_what_follows_from_accumulating_buffers_is_marked_as_its_consequence():
    X, y = _data()
    layers, fb = _net(True)
    state: dict = {}

    def grads(X, y):
        fb(X, y)
        return [(l.dW, l.db) for l in layers]

    def step(X, y):
        fb(X, y)
        for i, l in enumerate(layers):
            for name in ("W", "b"):
                g = getattr(l, "d" + name)
                b = 0.9 * state[(i, name)] + g if (i, name) in state else g
                state[(i, name)] = b
                setattr(l, name, getattr(l, name) - 0.1 * b)

    a = from_gradients({"layers": layers}, NAMES, grads, step=step,
                       **{**DECL, "optimizer": "sgd(momentum=0.9)"})  # fmt: skip
    r = check(a, X, y, steps=3, probe=False)
    assert r.codes()[0] == "gradient_accumulation", r.render()
    for f in r.findings[1:]:
        if f.kind == "bug":
            assert "likely a consequence of gradient_accumulation" in f.evidence, r.render()


@pytest.mark.parametrize("reset", [True, False])
def test_per_sample_sums_unreset_over_uneven_batches_are_named(reset):
    """Review s55 F2: Nielsen's update_mini_batch adding each sample's gradient into buffers
    never reset, divided by this batch's own size, over batches of 6, 6 and 4: the running
    sum of batch means fits only equal batches, so it was an unexplained_mismatch."""
    rng = np.random.default_rng(0)
    P = {"W1": rng.normal(0, 0.5, (3, 4)), "b1": np.zeros(4), "W2": rng.normal(0, 0.5, (4, 2)),
         "b2": np.zeros(2)}  # fmt: skip
    nabla = {k: np.zeros_like(v) for k, v in P.items()}

    def step(X, Y):
        if reset:
            for v in nabla.values():
                v[...] = 0
        for x, y in zip(X, Y, strict=True):  # one sample at a time, summed
            h = np.tanh(x @ P["W1"] + P["b1"])
            d = h @ P["W2"] + P["b2"] - y
            dh = P["W2"] @ d * (1 - h**2)
            for k, g in (("W1", np.outer(x, dh)), ("b1", dh), ("W2", np.outer(h, d)), ("b2", d)):
                nabla[k] += g
        for k in P:
            P[k] -= 0.1 / len(X) * nabla[k]

    X = rng.normal(size=(16, 3))
    a = from_step(P, list(P), step, **DECL, batch_size=6)
    r = check(a, X, np.c_[X[:, 0] * X[:, 1], X[:, 2]], steps=4, probe=False)
    if reset:
        assert r.code == "match", r.render()
        return
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "gradient_accumulation"), r.render()
    assert "divided by each step's own batch size" in f.evidence, r.render()
