"""The hinge losses a learner declares: micrograd's max-margin loss (``hinge``: mean of
relu(1 - y a) over -1/+1 labels, with its alpha * sum(p^2) penalty on every parameter) and
CS231n's multiclass SVM loss (``multi_margin(reduction=batch)``: each sample's margins summed,
averaged over the samples). Each matches when right and is a bug when planted (review s28:
micrograd's demo could not be checked, there was no hinge loss)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients
from nnparity.scratch import DataError


def _binary(bug: str | None = None, alpha: float = 1e-4):
    r = np.random.default_rng(3)
    P = {"W1": r.normal(0, 0.7, (2, 12)), "b1": r.normal(0, 0.1, 12),
         "W2": r.normal(0, 0.4, (12, 1)), "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        h = np.maximum(X @ P["W1"] + P["b1"], 0)
        s = h @ P["W2"] + P["b2"]
        on = (1 - y * s > 0) if bug != "mask_ge" else (1 - y * s >= -0.5)
        ds = np.where(on, -y, 0.0) / len(s)
        if bug == "no_mask":  # the margin's relu forgotten in the backward
            ds = -y / len(s)
        dh = ds @ P["W2"].T * (h > 0)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ ds, "b2": ds.sum(0)}
        return {k: v + 2 * alpha * P[k] for k, v in g.items()}  # alpha * sum(p^2)

    return from_gradients(P, list(P), grads, sizes=[2, 12, 1], activations="relu,identity",
                          loss="hinge", l2=2 * alpha, l2_bias=2 * alpha, optimizer="sgd",
                          lr=0.5)  # fmt: skip


def _moons(n=40):
    r = np.random.default_rng(4)
    X = r.normal(size=(n, 2))
    return X, np.where(X[:, :1] * X[:, 1:] > 0, 1.0, -1.0)


def _svm(bug: str | None = None, reduction: str = "batch"):
    r = np.random.default_rng(5)
    P = {"W1": r.normal(0, 0.5, (4, 10)), "b1": np.zeros(10),
         "W2": r.normal(0, 0.5, (10, 3)), "b2": np.zeros(3)}  # fmt: skip

    def loss_and_grads(X, y):
        N = len(X)
        h = np.tanh(X @ P["W1"] + P["b1"])
        s = h @ P["W2"] + P["b2"]
        m = np.maximum(0, s - s[np.arange(N), y][:, None] + 1.0)
        m[np.arange(N), y] = 0
        ds = (m > 0).astype(float)
        if bug != "no_own_class":  # the correct class's score takes -(its margins' count)
            ds[np.arange(N), y] -= ds.sum(1)
        ds /= N * (3 if bug == "over_classes" else 1)
        dh = ds @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ ds, "b2": ds.sum(0)}

    return from_gradients(P, list(P), loss_and_grads, sizes=[4, 10, 3],
                          activations="tanh,identity", loss="multi_margin", reduction=reduction,
                          optimizer="sgd", lr=0.2)  # fmt: skip


def _classes(n=30):
    r = np.random.default_rng(6)
    X = r.normal(size=(n, 4))
    return X, (X[:, 0] + 2 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)


def test_micrograds_max_margin_loss_with_its_penalty_matches():
    assert check(_binary(), *_moons(), steps=4, probe=False).code == "match"


@pytest.mark.parametrize("bug", ["no_mask", "mask_ge"])
def test_a_hinge_gradient_without_its_margin_mask_is_a_bug(bug):
    r = check(_binary(bug), *_moons(), steps=4, probe=False)
    assert r.code == "implementation_bug", r.render()


def test_cs231n_svm_loss_matches_as_the_batch_reduction():
    assert check(_svm(), *_classes(), steps=4, probe=False).code == "match"


def test_the_svm_gradient_without_the_correct_class_term_is_a_bug():
    r = check(_svm("no_own_class"), *_classes(), steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert {"W2", "b2"} & {n for f in r.findings for n in f.params}, r.render()


def test_a_margin_loss_averaged_over_the_classes_too_is_a_scale_factor():
    """PyTorch's MultiMarginLoss divides by N * K ('mean'); declared 'batch' (over N), a
    gradient divided by N * K is 1/K of it."""
    r = check(_svm("over_classes"), *_classes(), steps=3, probe=False)
    assert r.codes()[0] == "scale_factor", r.render()
    assert "c = 0.3333" in r.findings[0].evidence, r.findings[0].evidence
    assert check(_svm("over_classes", "mean"), *_classes(), steps=3, probe=False).code == "match"


def test_hinge_with_zero_one_labels_is_refused_with_the_fix():
    X, y = _moons()
    with pytest.raises(DataError, match=r"2 \* y - 1"):
        check(_binary(), X, (y + 1) / 2, steps=2, probe=False)
