"""No claim without evidence: a bug class once named on evidence that does not support it
(an all-zero gradient, a coincidental factor, shapes alone); each asserts what is said now."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnparity.reference.learner import LearnerError, check, from_gradients, from_loss
from nnparity.reference.learner.factors import fit


class SoftmaxNet:
    """A two-layer relu -> softmax classifier with a cross-entropy loss (params dict); the
    softmax normalises over ``axis`` (1: the classes, as it should)."""

    axis = 1

    def __init__(self, d=4, h=10, c=3, std=0.5, seed=0, edit=None):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": std * rng.standard_normal((d, h)),
            "b1": np.zeros(h),
            "W2": std * rng.standard_normal((h, c)),
            "b2": np.array([0.1, -0.2, 0.05])[:c] if c == 3 else np.zeros(c),
        }
        self.edit = edit or (lambda g, cache: g)

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h = np.maximum(0, X @ W1 + b1)
        s = h @ W2 + b2
        if y is None:
            return s
        n = X.shape[0]
        e = np.exp(s - s.max(axis=self.axis, keepdims=True))
        p = e / e.sum(axis=self.axis, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean()
        ds = p.copy()
        ds[np.arange(n), y] -= 1
        ds /= n
        dh = ds @ W2.T
        dh[h <= 0] = 0
        g = {"W2": h.T @ ds, "b2": ds.sum(0), "W1": X.T @ dh, "b1": dh.sum(0)}
        return loss, self.edit(g, {"X": X, "h": h, "ds": ds, "dh": dh})


def softmax_data(n=25, seed=11):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n)


def softmax_adapter(net, **kw):
    declared = dict(
        sizes=[4, 10, 3],
        activations="relu,identity",
        loss="cross_entropy",
        optimizer="sgd",
        lr=0.5,
    )
    return from_loss(net.params, net.loss, forward=net.loss, **{**declared, **kw})


def _check(edit, **kw):
    X, y = softmax_data()
    r = check(softmax_adapter(SoftmaxNet(edit=edit)), X, y, steps=3, probe=False, **kw)
    return r


def _zero(name):
    def edit(g, cache):
        g[name] = np.zeros_like(g[name])
        return g

    return edit


def test_an_all_zero_bias_gradient_is_not_a_bias_reduction():
    # softmax + cross-entropy: dz summed over batch and classes is 0, so the "one scalar"
    # form predicts zeros; a forgotten db2 must not be explained by it
    r = _check(_zero("b2"))
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["unexplained_mismatch"], r.render()
    assert "all zeros" in r.findings[0].evidence and r.findings[0].params == ("b2",)


def test_an_all_zero_weight_gradient_is_not_a_scale_factor_of_zero():
    r = _check(_zero("W1"))
    assert "scale_factor" not in r.codes() and "sign_flip" not in r.codes()
    assert r.codes() == ["unexplained_mismatch"], r.render()
    assert "all zeros" in r.findings[0].evidence


def test_fit_takes_neither_c_zero_nor_a_zero_prediction_as_evidence():
    g = torch.tensor([1.0, -2.0, 3.0, 0.5])
    names = [(1.0, "1"), (0.1, "1/N")]
    assert not fit([(torch.zeros(4), g, 1e-9, 1e-9)], names).ok  # c = 0
    tiny = torch.full((4,), 1e-18)
    assert not fit([(torch.zeros(4), tiny, 1e-9, 1e-9)], names).ok  # PyTorch's is not zero
    assert fit([(torch.zeros(4), tiny, 1e-9, 1e-9)], names, ref_zero=True).ok


class _LogReg:
    def __init__(self, per_sample):
        self.W = np.random.default_rng(0).standard_normal((3, 1)) * 0.3
        self.b = np.zeros(1)
        self.per_sample = per_sample

    def grads(self, X, y):
        a = 1 / (1 + np.exp(-(X @ self.W + self.b)))
        dz = (a - y) / len(X)  # (N, 1) against a column y: no broadcasting anywhere
        return {"W": X * dz if self.per_sample else X.T @ dz, "b": dz.sum(axis=0)}


class _TwoLayer:
    def __init__(self):
        rng = np.random.default_rng(1)
        self.W1, self.b1 = rng.standard_normal((3, 4)) * 0.5, np.zeros(4)
        self.W2, self.b2 = rng.standard_normal((4, 1)) * 0.5, np.zeros(1)

    def grads(self, X, y):
        a1 = np.tanh(X @ self.W1 + self.b1)
        a2 = 1 / (1 + np.exp(-(a1 @ self.W2 + self.b2)))
        dz2 = (a2 - y) / len(X)
        dz1 = (dz2 @ self.W2.T) * (1 - a1**2)  # dW1 from a1 instead of X: (4, 4)
        return {"W1": a1.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}


def _column_data():
    X = np.random.default_rng(0).standard_normal((12, 3))
    return X, (X[:, :1] > 0).astype(float)  # y (N, 1): no (N,) vector to broadcast


def test_a_per_sample_gradient_is_a_wrong_shape_not_broadcasting():

    X, y = _column_data()
    n = _LogReg(per_sample=True)
    a = from_gradients(n, ["W", "b"], n.grads, sizes=[3, 1], activations="sigmoid", loss="bce")
    r = check(a, X, y, steps=3, watch=3, probe=False)
    assert "broadcast_shape" not in r.codes()
    assert r.codes() == ["wrong_shape"], r.render()
    assert "expected (3, 1), got (12, 3)" in r.findings[0].evidence


def test_a_square_gradient_from_the_wrong_cache_is_not_broadcasting():

    X, y = _column_data()
    n = _TwoLayer()
    a = from_gradients(
        n,
        ["W1", "b1", "W2", "b2"],
        n.grads,
        sizes=[3, 4, 1],
        activations="tanh,sigmoid",
        loss="bce",
    )
    r = check(a, X, y, steps=3, watch=3, probe=False)  # dW1 from a1: the layer's own output
    assert r.codes() == ["wrong_cached_activation"], r.render()
    assert "expected (3, 4), got (4, 4)" in r.findings[0].evidence


def test_integer_weights_are_refused_with_the_fix_not_judged():
    net = {"W1": np.array([[1, -1], [-1, 1]]), "b1": np.array([0.0, 0.0])}
    net.update(W2=np.array([[1.0], [1.0]]), b2=np.array([0.0]))
    a = from_gradients(
        net,
        ["W1", "b1", "W2", "b2"],
        lambda X, y: {k: np.zeros(v.shape) for k, v in net.items()},
        sizes=[2, 2, 1],
        activations="tanh,sigmoid",
        layout="in_out",
        loss="bce",
    )
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    with pytest.raises(LearnerError, match=r"W1 is int64: use float weights \(np.array"):
        check(a, X, np.array([[0.0], [1.0], [1.0], [0.0]]), steps=2, probe=False)
    assert net["W1"].dtype == np.int64  # untouched


def test_a_loss_made_infinite_by_a_zero_probability_is_a_note_naming_the_log():
    # huge weights make a probability exactly 0 and its log -inf (the row max is subtracted):
    # a stable log is the fix; p - onehot stays right, so training is unaffected (review s9c)
    X, y = softmax_data()
    r = check(softmax_adapter(SoftmaxNet(std=30.0)), X, y, steps=3, watch=3, probe=False)
    assert r.verdict == "match", r.render()
    f = r.findings[0]
    assert f.code == "loss_value_mismatch" and f.kind == "note", r.render()
    assert "log(0) in your code" in f.evidence, f.evidence
    assert "exp overflows" not in f.evidence and "row maximum" not in f.hint
    assert "log-sum-exp" in f.hint


def test_a_nan_made_in_the_backward_pass_at_step_1_is_not_a_learning_rate():
    def edit(g, cache):
        g["W1"] = g["W1"] * np.nan
        return g

    r = _check(edit)
    assert r.verdict == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "nonfinite" and f.params == ("W1",) and "backward pass" in f.evidence
    assert "lower the learning rate" not in f.hint


class L2Net(SoftmaxNet):
    """SoftmaxNet with the penalty l2/2 * sum W^2 in its loss and gradients."""

    l2 = 0.01

    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is None:
            return out
        loss, g = out
        for k in ("W1", "W2"):
            g[k] = g[k] + self.l2 * self.params[k]
            loss += self.l2 / 2 * (self.params[k] ** 2).sum()
        return loss, g


def test_a_penalty_that_stops_the_fit_is_not_capacity():
    X, y = softmax_data()
    r = check(softmax_adapter(L2Net(), l2=0.01), X, y, steps=3, watch=3, probe_steps=300)
    assert "capacity" not in r.codes(), r.render()
    assert r.codes() == ["regularization_strength"]
    assert (r.code, r.training.outcome) == ("match", "model_limitation")
    assert "without the penalty it fits" in r.findings[0].evidence


def test_huge_initial_weights_lead_with_reinitialise_not_capacity():
    X, y = softmax_data()
    r = check(softmax_adapter(SoftmaxNet(std=30.0)), X, y, steps=3, probe_steps=300)
    assert "capacity" not in r.codes(), r.render()
    assert r.codes()[:2] == ["loss_value_mismatch", "init_scale"], r.render()
    assert r.findings[1].hint.startswith("re-initialise")


def _typed(bug, types):
    from planted import NAMES, PlantedMLP

    net = PlantedMLP(bug)
    for k, t in zip(NAMES, types, strict=True):
        setattr(net, k, getattr(net, k).astype(t))
    return net


def _typed_check(net, dtype):
    from planted import DECLARED, NAMES, data

    X, y = data()
    grads = lambda X, y: net.grads(X.astype(dtype), y.astype(dtype))  # noqa: E731
    return check(from_gradients(net, NAMES, grads, **DECLARED), X, y, steps=3, watch=3, probe=False)


def test_a_float16_learner_is_judged_at_float16_tolerance():
    r = _typed_check(_typed(None, [np.float16] * 6), np.float16)
    assert r.verdict == "match" and "within float16's round-off" in r.spec, r.render()
    r = _typed_check(_typed("sum", [np.float16] * 6), np.float16)
    assert r.codes() == ["scale_factor"] and "= N (N = 6)" in r.findings[0].evidence


def test_one_float32_array_among_float64_computed_in_float64_is_judged_by_held_dtype():
    """Each quantity at the dtype it is held in (test_mixed_precision.py)."""
    net = _typed(None, [np.float32] + [np.float64] * 5)
    r = _typed_check(net, np.float64)
    assert r.verdict == "match", r.render()
    assert "include float32: each quantity judged" in r.spec


def test_forward_bias_not_applied_names_the_learners_bias():
    from nnparity.reference.learner import from_forward

    rng = np.random.default_rng(3)
    P = {"A": rng.normal(size=(3, 4)), "a": rng.normal(size=4)}
    P.update(B=rng.normal(size=(4, 2)), b=rng.normal(size=2))

    def fwd(X):
        return np.tanh(X @ P["A"] + P["a"]) @ P["B"]  # b never added

    a = from_forward(P, ["A", "a", "B", "b"], fwd, sizes=[3, 4, 2], activations="tanh,identity")
    r = check(a, rng.normal(size=(5, 3)), None, steps=1)
    assert r.codes() == ["bias_not_applied"] and r.findings[0].params == ("b",), r.render()
    assert "bias b not added" in r.findings[0].evidence


def test_unexplained_index_and_shape_are_in_the_learners_layout():
    rng = np.random.default_rng(4)
    P = {"W": rng.normal(size=(2, 3)), "b": np.zeros(2)}  # (out, in)

    def grads(X, y):
        d = (X @ P["W"].T + P["b"] - y) / len(X)  # half_sse, identity
        g = d.T @ X
        g[1, 2] += 1.0  # one wrong entry
        return {"W": g, "b": d.sum(0)}

    a = from_gradients(
        P, ["W", "b"], grads, sizes=[3, 2], activations="identity", layout="out_in", loss="half_sse"
    )
    r = check(a, rng.normal(size=(6, 3)), rng.normal(size=(6, 2)), steps=2, probe=False)
    assert r.codes() == ["unexplained_mismatch"], r.render()
    assert "at (1, 2))" in r.findings[0].evidence
    assert next(row for row in r.table if row.name == "W").shape == (2, 3)


class _AxisZero(SoftmaxNet):
    """Softmax over the samples (axis 0) in the loss; the forward pass returns logits."""

    axis = 0


def test_softmax_axis_evidence_names_softmax_not_identity():
    X, y = softmax_data()
    r = check(softmax_adapter(_AxisZero()), X, y, steps=3, probe=False)
    f = r.finding("softmax_axis")
    assert f is not None, r.render()
    assert "(softmax + cross-entropy)" in f.evidence and "(identity)" not in f.evidence
