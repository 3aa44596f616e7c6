"""Targets encoded from the batch's own labels (class_batches.py): every batch the check
hands holds every class, so np.unique(y, return_inverse=True) or np.eye(y.max() + 1)[y]
inside the loss agreed; a step on a batch without the smallest class and one without the
largest shows them (review s36 F4; s33 F9: a (N, 1) one-hot broadcast against (N, 2)).
Tested both ways: a one-hot of the problem's classes, code made for one batch size and
float32 still match."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _data(k: int, n: int = 30):
    r = np.random.RandomState(0)
    X = r.randn(n, 3)
    return X, np.arange(n) % k  # every class in every batch the check hands


def _adapter(k: int, encode: str, dtype=np.float64, n: int = 30):
    r = np.random.RandomState(1)
    P = {"W1": r.randn(3, 6).astype(dtype) * 0.5, "b1": np.zeros(6, dtype),
         "W2": r.randn(6, k).astype(dtype) * 0.5, "b2": np.zeros(k, dtype)}  # fmt: skip

    def grads(X, y):
        if encode == "fixed" and len(X) != n:  # made for one batch size
            raise ValueError(f"cannot reshape array of size {X.size} into shape ({n},3)")
        h = np.tanh(X @ P["W1"] + P["b1"])
        s = h @ P["W2"] + P["b2"]
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        if encode == "unique":  # the batch's labels mapped to 0..m-1
            y = np.unique(y, return_inverse=True)[1]
        Y = np.eye(int(y.max()) + 1)[y] if encode == "max" else np.eye(k)[y]
        d = (p - Y) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    return from_gradients(P, list(P), grads, sizes=[3, 6, k], activations="tanh,softmax",
                          loss="cross_entropy", optimizer="sgd", lr=0.5)  # fmt: skip


@pytest.mark.parametrize(
    ("k", "encode", "lacking"), [(3, "unique", 0), (4, "unique", 0), (3, "max", 2), (2, "max", 1)]
)
def test_targets_encoded_from_the_batch_are_caught_on_a_batch_lacking_a_class(k, encode, lacking):
    X, y = _data(k)
    with np.errstate(all="ignore"):
        res = check(_adapter(k, encode), X, y, steps=3, probe=False)
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert f"on a batch without class {lacking}" in f.evidence, res.render()
    assert f.hint.startswith("encode the targets with the number of classes"), res.render()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("encode", ["problem", "fixed"])
def test_a_one_hot_of_the_problems_classes_matches(encode, dtype):
    X, y = _data(3)
    res = check(_adapter(3, encode, dtype), X.astype(dtype), y, steps=3, probe=False)
    assert res.code == "match", res.render()
    assert not any("without class" in f.evidence for f in res.findings), res.render()


def test_a_declared_batch_of_every_row_makes_it_a_note():
    """Review s38 F8: all rows at once hold every class; as the halves' rule, a note."""
    X, y = _data(3)
    with np.errstate(all="ignore"):
        res = check(_adapter(3, "max"), X, y, steps=3, probe=False, batch_size=len(X))
    assert res.code == "match", res.render()
    f = next(f for f in res.findings if "on a batch without class 2" in f.evidence)
    assert f.kind == "note" and "only for mini-batches" in f.hint, res.render()


def test_declared_mini_batches_keep_it_a_bug():
    """A declared batch_size below the rows is mini-batch training: the full-batch note's
    rule does not apply (a declared batch_size=10 made it a note, review s38 F4's files)."""
    X, y = _data(3)
    with np.errstate(all="ignore"):
        res = check(_adapter(3, "max"), X, y, steps=3, probe=False, batch_size=15)
    assert res.code == "implementation_bug", res.render()
