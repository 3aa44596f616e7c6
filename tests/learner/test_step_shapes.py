"""A step that changes a parameter's shape (Ng's column layout: b of shape (n, 1) updated with
a db of shape (n,) broadcasts to (n, n)) is named where it happens, never a crash of the
checker's own (review s8a)."""

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step


class Columns:
    """4-5-3, samples as columns: W (out, in), b (out, 1), tanh then identity, mse."""

    def __init__(self, keepdims: bool):
        r = np.random.RandomState(0)
        self.keepdims = keepdims
        self.W1, self.b1 = r.randn(5, 4) * 0.5, np.zeros((5, 1))
        self.W2, self.b2 = r.randn(3, 5) * 0.5, np.zeros((3, 1))

    def grads(self, X, Y):
        A0, Y = X.T, Y.T
        A1 = np.tanh(self.W1 @ A0 + self.b1)
        A2 = self.W2 @ A1 + self.b2
        dZ2 = 2 * (A2 - Y) / Y.size
        dZ1 = self.W2.T @ dZ2 * (1 - A1**2)
        k = self.keepdims
        self.g = {
            "W1": dZ1 @ A0.T, "b1": dZ1.sum(axis=1, keepdims=k),
            "W2": dZ2 @ A1.T, "b2": dZ2.sum(axis=1, keepdims=k),
        }  # fmt: skip
        return self.g

    def update(self, lr=0.1):
        for k, g in self.g.items():
            setattr(self, k, getattr(self, k) - lr * g)

    def step(self, X, Y):
        self.grads(X, Y)
        self.update()


NAMES = ["W1", "b1", "W2", "b2"]
DECL = dict(sizes=[4, 5, 3], activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1,
            layout="out_in")  # fmt: skip


def _adapter(style, keepdims):
    net = Columns(keepdims)
    if style == "step":
        return from_step(net, NAMES, net.step, **DECL)
    return from_gradients(net, NAMES, net.grads, step=lambda X, Y: net.update(), **DECL)


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("keepdims", [True, False])
def test_a_bias_broadcast_to_a_square_by_the_update_is_named(style, keepdims):
    r = np.random.RandomState(1)
    X, Y = r.randn(12, 4), r.randn(12, 3)
    result = check(_adapter(style, keepdims), X, Y, steps=3, probe=False)
    if keepdims:
        assert result.code == "match", result.render()
        return
    assert result.code == "implementation_bug", result.render()
    f = result.findings[0]
    assert f.code == "broadcast_shape" and f.step == 1, result.render()
    assert f.params == ("b1", "b2"), f.params
    assert "b1's shape from (5, 1) to (5, 5), b2's shape from (3, 1) to (3, 3)" in f.evidence
    assert "keepdims=True" in f.hint, f.hint


def test_a_parameter_reshaped_otherwise_is_a_wrong_shape_not_a_crash():
    net = Columns(True)

    def step(X, Y):
        net.grads(X, Y)
        net.update()
        net.W2 = net.W2[:, :4]  # a slice kept by mistake

    r = np.random.RandomState(1)
    result = check(from_step(net, NAMES, step, **DECL), r.randn(12, 4), r.randn(12, 3),
                   steps=3, probe=False)  # fmt: skip
    f = result.findings[0]
    assert f.code == "wrong_shape" and "W2's shape from (3, 5) to (3, 4)" in f.evidence


@pytest.mark.parametrize("keepdims", [True, False])
def test_a_gradient_an_update_would_broadcast_is_a_bug_without_a_step(keepdims):
    """Gradients only (no step=): db (5,) for b (5, 1) holds the right numbers, but the
    learner's own b - lr * db makes (5, 5): a bug (review s15b: it was a match with a note)."""
    net = Columns(keepdims)
    r = np.random.RandomState(1)
    res = check(from_gradients(net, NAMES, net.grads, **DECL), r.randn(12, 4), r.randn(12, 3),
                steps=3, probe=False)  # fmt: skip
    noted = [f for f in res.findings if f.code == "broadcast_shape"]
    if keepdims:
        assert res.code == "match" and not noted, res.render()
        return
    assert res.code == "implementation_bug", res.render()
    assert noted and noted[0].kind == "bug" and "makes b1 (5, 5)" in noted[0].evidence


class LogReg:
    """Logistic regression, rows as samples, w (3, 1), b (1,); y handed as a vector (n,)."""

    def __init__(self, y_column: bool):
        self.w, self.b = np.random.RandomState(2).randn(3, 1) * 0.1, np.zeros(1)
        self.y_column = y_column

    def step(self, X, y):
        y = y.reshape(-1, 1) if self.y_column else y  # without it: (n, 1) - (n,) is (n, n)
        a = 1 / (1 + np.exp(-(X @ self.w + self.b)))
        dz = (a - y) / len(X)
        self.w = self.w - 0.5 * (X.T @ dz)
        self.b = self.b - 0.5 * dz.sum(0)


@pytest.mark.parametrize("y_column", [True, False])
def test_a_vector_target_broadcast_against_a_column_output_is_named_with_y(y_column):
    """Review s9c: w (3, 1) became (3, 30) because a (30, 1) output minus a (30,) y is
    (30, 30); the finding said a (3,) gradient met a (3, 1) parameter, and its fix
    g.reshape(p.shape) cannot run on (3, 30)."""
    r = np.random.RandomState(3)
    X, y = r.randn(30, 3), (r.rand(30) < 0.5).astype(float)
    net = LogReg(y_column)
    a = from_step(net, ["w", "b"], net.step, sizes=[3, 1], activations="sigmoid", loss="bce",
                  lr=0.5)  # fmt: skip
    result = check(a, X, y, steps=3, probe=False)
    if y_column:
        assert result.code == "match", result.render()
        return
    f = result.findings[0]
    assert f.code == "broadcast_shape" and "w's shape from (3, 1) to (3, 30)" in f.evidence
    assert "your target y is a (30,) vector" in f.evidence and "y.reshape(-1, 1)" in f.hint


def test_a_bias_gradient_not_summed_over_the_rows_says_sum_it_in_the_rows_layout():
    """Review s9c: b (1, 8) minus an unsummed dz (32, 8) is (32, 8); the fix said
    dZ.sum(axis=1, keepdims=True), the column layout's, which is the bug itself here."""
    r = np.random.RandomState(5)
    P = {"W": r.randn(3, 8) * 0.3, "b": np.zeros((1, 8))}

    def step(X, y):
        dz = 2 * (X @ P["W"] + P["b"] - y) / y.size
        P["W"] = P["W"] - 0.1 * X.T @ dz
        P["b"] = P["b"] - 0.1 * dz  # never summed over the 32 rows

    a = from_step(P, ["W", "b"], step, sizes=[3, 8], activations="identity", loss="mse", lr=0.1)
    result = check(a, r.randn(32, 3), r.randn(32, 8), steps=2, probe=False)
    f = result.findings[0]
    assert f.code == "broadcast_shape" and "an axis of 32, the batch's rows" in f.evidence
    assert "dz.sum(axis=0)" in f.hint and "keepdims" not in f.hint, result.render()


def test_an_in_place_update_that_meets_the_batchs_axis_says_sum_it():
    """Review s9c: b -= lr * dz with dz (N, n) raises in NumPy; the advice was to transpose."""
    r = np.random.RandomState(6)
    P = {"W": r.randn(3, 8) * 0.3, "b": np.zeros((1, 8))}

    def step(X, y):
        dz = 2 * (X @ P["W"] + P["b"] - y) / y.size
        P["W"] -= 0.1 * X.T @ dz
        P["b"] -= 0.1 * dz  # (1, 8) -= (32, 8): non-broadcastable output operand

    a = from_step(P, ["W", "b"], step, sizes=[3, 8], activations="identity", loss="mse", lr=0.1)
    result = check(a, r.randn(32, 3), r.randn(32, 8), steps=2, probe=False)
    f = result.findings[0]
    assert f.code == "learner_exception", result.render()
    assert "keeps the batch's axis (32 rows): sum it over the batch" in f.hint


def test_a_weight_gradient_built_from_the_layers_own_output_is_named():
    """Review s9c: dW = dZ @ A.T with the layer's own activation (n_out, n_out) was a bare
    wrong_shape."""
    net = Columns(True)

    def grads(X, Y):
        g = net.grads(X, Y)
        A1 = np.tanh(net.W1 @ X.T + net.b1)
        dZ1 = net.W2.T @ (2 * (net.W2 @ A1 + net.b2 - Y.T) / Y.size) * (1 - A1**2)
        return {**g, "W1": dZ1 @ A1.T}  # (5, 5): A1 where A0 belongs

    r = np.random.RandomState(1)
    res = check(from_gradients(net, NAMES, grads, **DECL), r.randn(12, 4), r.randn(12, 3),
                steps=2, probe=False)  # fmt: skip
    f = res.findings[0]
    assert f.code == "wrong_cached_activation" and "(5, 5) is dZ @ A.T" in f.evidence, res.render()
