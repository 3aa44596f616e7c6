"""Deep Learning from Scratch, chapter 4: the gradients are central differences (h = 1e-4) of
the book's loss, cross-entropy with ``log(p + 1e-7)`` (review s59a F2, s59c F3). They were an
unexplained constant 0.9999996: the differences of the declared loss alone were tried. Where
the differences agree with that loss's own gradient to their round-off, it is the safe log's
convention beside a match; where their truncation shows (a larger h), they are
``finite_difference_gradients`` of that loss."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

R = np.random.default_rng(4)
X = R.normal(size=(10, 4))
Y = R.integers(0, 3, 10)


def _saito(h: float):
    r = np.random.default_rng(1)
    P = {"W1": 0.5 * r.normal(size=(4, 6)), "b1": np.zeros(6), "W2": 0.5 * r.normal(size=(6, 3)),
         "b2": np.zeros(3)}  # fmt: skip

    def loss(X, t):
        h1 = 1 / (1 + np.exp(-(X @ P["W1"] + P["b1"])))
        z = h1 @ P["W2"] + P["b2"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return -np.sum(np.log(p[np.arange(len(t)), t] + 1e-7)) / len(t)

    def grads(X, t):
        out = {}
        for k, w in P.items():
            g = np.zeros_like(w)
            for i in np.ndindex(w.shape):
                old = w[i]
                w[i] = old + h
                up = loss(X, t)
                w[i] = old - h
                g[i] = (up - loss(X, t)) / (2 * h)
                w[i] = old
            out[k] = g
        return out

    return from_gradients(P, list(P), grads, sizes=[4, 6, 3], activations="sigmoid,softmax",
                          loss="cross_entropy", lr=0.1)  # fmt: skip


@pytest.mark.parametrize(
    ("h", "code"), [(1e-4, "clip_convention"), (1e-2, "finite_difference_gradients")]
)
def test_differences_of_the_books_loss(h, code):
    r = check(_saito(h), X, Y, steps=3, probe=False)
    assert code in r.codes(), r.render()
    assert r.code == ("match" if code == "clip_convention" else "implementation_bug"), r.render()
    f = next(f for f in r.findings if f.code == code)
    assert "-log(p + 1e-07)" in f.evidence, r.render()
