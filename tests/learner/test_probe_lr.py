"""Training-probe answers about the learning rate (review s16c). An lr too large for a
full-batch run makes its loss oscillate without growing: it was ``slow_training`` with "use
momentum or Adam", which at that lr killed every unit; it is ``learning_rate``, with the lower
lr that fits. An lr too small beside some dead ReLU units at a He start was ``dead_units``
with "He init, or lower the learning rate": the declared optimizer fits from those weights
at a larger lr, so the start is no cause and the answer is ``slow_training``."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _mlp(P, acts):
    def grads(X, y):
        h = X @ P["W1"] + P["b1"]
        a = np.tanh(h) if acts[0] == "tanh" else np.maximum(h, 0)
        z = a @ P["W2"] + P["b2"]
        if acts[1] == "softmax":
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            dz = (p - np.eye(z.shape[1])[y]) / len(X)
        else:
            dz = (z - y) / len(X)
        da = dz @ P["W2"].T * ((1 - a**2) if acts[0] == "tanh" else (h > 0))
        return {"W1": X.T @ da, "b1": da.sum(0), "W2": a.T @ dz, "b2": dz.sum(0)}

    return grads


def test_a_loss_that_oscillates_is_a_learning_rate_too_large():
    r = np.random.RandomState(0)
    P = {"W1": r.randn(1, 16), "b1": np.zeros(16), "W2": r.randn(16, 1) / 4, "b2": np.zeros(1)}
    X = np.linspace(-3, 3, 60)[:, None]
    y = 2 * np.sin(X)
    decl = dict(sizes=[1, 16, 1], activations="tanh,identity", loss="half_sse")
    a = from_gradients(P, list(P), _mlp(P, ("tanh", "identity")), optimizer="sgd", lr=0.3, **decl)
    res = check(a, X, y, steps=2, watch=0)
    assert res.code == "match", res.render()
    f = res.findings[0]
    assert (res.training.outcome, f.code) == ("model_limitation", "learning_rate"), res.render()
    assert "oscillates" in f.evidence and "lower the learning rate (lr = 0.1 fits)" == f.hint


def test_dead_units_at_a_he_start_beside_a_small_lr_are_slow_training():
    r = np.random.RandomState(0)
    X = r.rand(80, 64)  # pixels in [0, 1]: some He-initialised relu units start dead
    y = r.randint(0, 4, 80)
    P = {"W1": r.randn(64, 32) * np.sqrt(2 / 64), "b1": np.zeros(32)}
    P |= {"W2": r.randn(32, 4) * np.sqrt(2 / 32), "b2": np.zeros(4)}
    decl = dict(sizes=[64, 32, 4], activations="relu,softmax", loss="cross_entropy")
    a = from_gradients(P, list(P), _mlp(P, ("relu", "softmax")), optimizer="sgd", lr=0.002, **decl)
    res = check(a, X, y, steps=2, watch=0)
    assert res.code == "match", res.render()
    assert res.training.outcome == "model_limitation", res.render()
    assert res.codes() == ["slow_training"], res.render()
    assert "raise the learning rate" in res.findings[0].hint


@pytest.mark.parametrize("lr", [1e-5, 1e-7, 1e-9])
def test_an_lr_far_too_small_is_raised_not_another_optimizer(lr):
    """Review s19b: at lr = 1e-5 where lr = 0.1 fits, only x 10 and x 100 were tried and the
    fix said "use momentum or Adam"; the powers of ten go on up to lr = 1 (review s22b: they
    stopped at x 1e5, so lr = 1e-7 was told "use momentum or Adam")."""
    r = np.random.RandomState(1)
    X = r.randn(50, 2)
    y = (X[:, :1] + X[:, 1:] > 0).astype(float) * 2 - 1  # a line: a tanh net fits it fast
    P = {"W1": r.randn(2, 8) * 0.5, "b1": np.zeros(8), "W2": r.randn(8, 1) * 0.5,
         "b2": np.zeros(1)}  # fmt: skip
    decl = dict(sizes=[2, 8, 1], activations="tanh,identity", loss="half_sse")
    a = from_gradients(P, list(P), _mlp(P, ("tanh", "identity")), optimizer="sgd", lr=lr, **decl)
    res = check(a, X, y, steps=2, watch=0)
    assert res.codes() == ["slow_training"], res.render()
    assert res.findings[0].hint.startswith("raise the learning rate (lr = "), res.render()


def test_the_training_answer_says_the_default_lr_an_undeclared_lr_took():
    """``optimizer="sgd"`` with no lr trains at sgd's default 0.001: the answer says so, where
    a bare "sgd" hid why a fit was missed (review s19b, t17)."""
    r = np.random.RandomState(0)
    P = {"W1": r.randn(1, 16), "b1": np.zeros(16), "W2": r.randn(16, 1) / 4, "b2": np.zeros(1)}
    X = np.linspace(-3, 3, 60)[:, None]
    decl = dict(sizes=[1, 16, 1], activations="tanh,identity", loss="half_sse")
    a = from_gradients(P, list(P), _mlp(P, ("tanh", "identity")), optimizer="sgd", **decl)
    res = check(a, X, 2 * np.sin(X), steps=1, watch=0)
    assert res.code == "match", res.render()
    assert res.training.reached.endswith(" step(s) of sgd(lr=0.001)"), res.render()


def test_a_run_that_blows_up_is_said_with_the_lower_lr_that_fits():
    """Review s22b: at lr = 200 (a tanh-sigmoid classifier under bce) the loss grows and the
    units saturate on the way; only lr / 10 was tried, so the answer led with "saturation:
    scale the initial weights down" and "lower the learning rate" gave no lr. Powers of ten
    down are tried; the first that fits is said, and the saturation is its consequence."""
    r = np.random.RandomState(0)
    X = r.uniform(-1, 1, (80, 2))
    y = ((X**2).sum(1) < 0.5).astype(float)[:, None]
    P = {"W1": r.randn(2, 16) / np.sqrt(2), "b1": np.zeros(16)}
    P |= {"W2": r.randn(16, 1) / 4, "b2": np.zeros(1)}

    def grads(X, y):
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        a2 = 1 / (1 + np.exp(-(a1 @ P["W2"] + P["b2"])))
        dz = (a2 - y) / len(X)
        da = dz @ P["W2"].T * (1 - a1**2)
        return {"W1": X.T @ da, "b1": da.sum(0), "W2": a1.T @ dz, "b2": dz.sum(0)}

    decl = dict(sizes=[2, 16, 1], activations="tanh,sigmoid", loss="bce")
    res = check(from_gradients(P, list(P), grads, optimizer="sgd", lr=200.0, **decl), X, y,
                steps=2, watch=0)  # fmt: skip
    assert res.code == "match", res.render()
    assert res.codes() == ["learning_rate"], res.render()
    f = res.findings[0]
    assert "the loss grows" in f.evidence, f.evidence
    assert f.hint.startswith("lower the learning rate (lr = 2 fits"), f.hint


def test_a_sigmoid_net_s_lr_is_raised_past_1():
    """Review s32 F6: Nielsen's network.py at eta 0.003, where his own eta 3 fits, was told
    "use momentum or Adam" (the powers of ten stopped at lr = 1); they go on up to 10."""
    r = np.random.RandomState(2)
    X = r.randn(40, 2)
    y = ((X**2).sum(1, keepdims=True) < 1.0).astype(float)
    P = {"W1": r.randn(2, 8), "b1": r.randn(8), "W2": r.randn(8, 1), "b2": r.randn(1)}

    def grads(X, y):
        a1 = 1 / (1 + np.exp(-(X @ P["W1"] + P["b1"])))
        a2 = 1 / (1 + np.exp(-(a1 @ P["W2"] + P["b2"])))
        d2 = (a2 - y) * a2 * (1 - a2) / len(X)
        d1 = d2 @ P["W2"].T * a1 * (1 - a1)
        return {"W1": X.T @ d1, "b1": d1.sum(0), "W2": a1.T @ d2, "b2": d2.sum(0)}

    decl = dict(sizes=[2, 8, 1], activations="sigmoid,sigmoid", loss="half_sse", batch_size=10)
    res = check(from_gradients(P, list(P), grads, optimizer="sgd", lr=0.003, **decl), X, y,
                steps=2, watch=0)  # fmt: skip
    assert res.code == "match" and res.codes() == ["slow_training"], res.render()
    hint = res.findings[0].hint
    m = re.fullmatch(r"raise the learning rate \(lr = ([\d.e+-]+) fits\)", hint)
    assert m and float(m.group(1)) > 1, hint
