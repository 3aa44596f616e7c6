"""A norm clip written as TensorFlow, Keras and the textbooks write it, g * c / ||g|| without
PyTorch's + 1e-6 on the norm, is the declared clip: a match with a ``clip_form`` note (review
s34 F1: it was named ``rows_mispaired``). PyTorch's own form matches without the note, and a
clip of each parameter by its own norm is still no match."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

C = 0.05  # binds: the gradients' norm is several times it


def _learner(form: str, style: str):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 6), "b1": r.randn(6) * 0.1, "W2": r.randn(6, 1), "b2": np.zeros(1)}
    last = {}

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        last.update({"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)})
        return dict(last)

    def step(X, y):
        g = grads(X, y) if style == "step" else dict(last)
        total = np.sqrt(sum(float((v**2).sum()) for v in g.values()))
        for k, v in g.items():
            if form == "each":  # each parameter by its own norm: not the declared clip
                n = np.sqrt(float((v**2).sum()))
                v = v * min(1.0, C / n)
            elif form == "torch":
                v = v * min(1.0, C / (total + 1e-6))
            elif total > C:  # the textbook's (TensorFlow's clip_by_global_norm)
                v = v * (C / total)
            P[k] -= 0.5 * v

    kw = dict(sizes=[3, 6, 1], activations="tanh,identity", loss="mse", optimizer="sgd",
              lr=0.5, clip_grad_norm=C)  # fmt: skip
    if style == "step":
        return from_step(P, list(P), step, **kw)
    return from_gradients(P, list(P), grads, step=step, **kw)


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("form", ["textbook", "torch", "each"])
def test_the_textbook_norm_clip_is_the_declared_clip(form, style):
    r = np.random.RandomState(1)
    X = r.randn(20, 3)
    res = check(_learner(form, style), X, np.sin(X[:, :1]) * 3, steps=4, probe=False)
    if form == "each":
        assert res.code == "implementation_bug", res.render()
        return
    assert res.code == "match", res.render()
    assert ("clip_form" in res.codes()) == (form == "textbook"), res.render()
