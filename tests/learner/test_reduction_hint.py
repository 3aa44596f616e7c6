"""A gradient N times PyTorch's under a declared mean: reduction='sum' is offered only where
it sums over the samples alone (review s9c: an mse over D = 3 outputs summed over the samples
and averaged over the outputs was told to declare reduction='sum', which then failed as 1/D)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _mse_net(D: int, mean_over_outputs: bool):
    r = np.random.default_rng(2)
    P = {"W1": r.normal(0, 0.5, (3, 5)), "b1": np.zeros(5), "W2": r.normal(0, 0.5, (5, D)),
         "b2": np.zeros(D)}  # fmt: skip
    X, Y = r.normal(size=(16, 3)), r.normal(size=(16, D))

    def grads(X, y):  # sum over the samples of the mean (or sum) over the outputs
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / (y.shape[1] if mean_over_outputs else 1)
        dh = d @ P["W2"].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

    decl = dict(sizes=[3, 5, D], activations="tanh,identity", loss="mse", lr=0.01)
    return (lambda **kw: from_gradients(P, list(P), grads, **decl, **kw)), X, Y


@pytest.mark.parametrize(("D", "offered"), [(1, True), (3, False)])
def test_reduction_sum_is_offered_only_where_it_takes_the_steps(D, offered):
    adapter, X, Y = _mse_net(D, mean_over_outputs=True)
    r = check(adapter(), X, Y, steps=2, probe=False)
    (f,) = [f for f in r.findings if f.code == "scale_factor"]
    assert "divide by N" in f.hint and ("declare reduction='sum'" in f.hint) == offered, f.hint
    if offered:  # following the advice matches
        assert check(adapter(reduction="sum"), X, Y, steps=2, probe=False).code == "match"
    else:  # and declaring it would not have
        assert check(adapter(reduction="sum"), X, Y, steps=2, probe=False).code != "match"


def test_half_of_mse_over_several_outputs_is_said_to_have_no_declaration():
    """Review s9c: 0.5 * np.mean((out - y)**2) with D = 3 was told to declare half_sse, which
    then parted by 1/D: no loss declares it."""
    r = np.random.default_rng(3)
    P = {"W": r.normal(0, 0.5, (3, 3)), "b": np.zeros(3)}
    X, Y = r.normal(size=(16, 3)), r.normal(size=(16, 3))

    def grads(X, y):
        d = (X @ P["W"] + P["b"] - y) / y.size  # d/dout of 0.5 * mean((out - y)**2)
        return [X.T @ d, d.sum(0)]

    a = from_gradients(P, ["W", "b"], grads, sizes=[3, 3], activations="identity", loss="mse",
                       lr=0.01, layout="in_out")  # fmt: skip
    (f,) = [f for f in check(a, X, Y, steps=2, probe=False).findings if f.code == "scale_factor"]
    assert "half of mse" in f.hint and "which no loss declares" in f.hint, f.hint
    assert "half_sse" not in f.hint.split("(")[0]


@pytest.mark.parametrize(
    ("declared", "said"), [("mean", "divide by N twice"), ("sum", "drop the 1/N")]
)
def test_a_gradient_1_over_n_of_the_declared_names_the_declared_reduction(declared, said):
    """Review s10a: d2l's sgd dividing a mean loss's gradient by batch_size again was told
    'your gradient averages where the declared loss sums: declare reduction='mean'', with
    mean declared."""
    r = np.random.default_rng(2)
    P = {"W": r.normal(0, 0.5, (3, 2)), "b": np.zeros(2)}
    X, Y = r.normal(size=(16, 3)), r.normal(size=(16, 2))

    def grads(X, y):  # the declared reduction's gradient, divided by the batch size once more
        d = 2 * (X @ P["W"] + P["b"] - y) / (y.size if declared == "mean" else 1)
        d = d / len(X)
        return [X.T @ d, d.sum(0)]

    a = from_gradients(P, ["W", "b"], grads, sizes=[3, 2], activations="identity", loss="mse",
                       reduction=declared, lr=0.01)  # fmt: skip
    res = check(a, X, Y, steps=2, probe=False)
    (f,) = [f for f in res.findings if f.code == "scale_factor"]
    assert said in f.hint and "1/N" in f.evidence, res.render()


@pytest.mark.parametrize("rows", [15, 10])
def test_cross_entropy_averaged_over_every_one_hot_entry_is_named(rows):
    """Review s19a: (p - Y) / Y.size under cross-entropy is 1/K of the gradient; with 30 rows,
    K = 3 and batches of 10 it is also N/M, and the fix named the data set's rows alone."""
    r = np.random.default_rng(4)
    P = {"W": r.normal(0, 0.5, (2, 3)), "b": np.zeros(3)}
    X, labels = r.normal(size=(30, 2)), r.integers(0, 3, 30)

    def grads(X, y):
        z = X @ P["W"] + P["b"]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d = (p - y) / y.size  # the mean over all N*K entries
        return [X.T @ d, d.sum(0)]

    a = from_gradients(P, ["W", "b"], grads, sizes=[2, 3], activations="softmax",
                       loss="cross_entropy", lr=0.1, layout="in_out")  # fmt: skip
    res = check(a, X, np.eye(3)[labels], steps=2, batch_size=rows, probe=False)
    (f,) = [f for f in res.findings if f.code == "scale_factor"]
    assert f.hint.startswith("your cross-entropy averages over all N*3 entries"), f.hint


def test_a_factor_two_under_a_summed_loss_says_summed_over_the_samples():
    """Review s20a, t17: under reduction='sum' the reading "each averaged over the samples"
    would have moved the learner a factor N away."""
    from nnparity.reference.learner.scale import scale_hint

    summed = scale_hint("1/2", True, 0.5, 0.5, "mse", summed=True)
    assert "each summed over the samples (reduction='sum')" in summed
    assert "averaged over the samples" not in summed
    assert "each averaged over the samples" in scale_hint("1/2", True, 0.5, 0.5, "mse")
