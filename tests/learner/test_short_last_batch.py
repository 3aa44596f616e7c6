"""A short last batch that the steps compared would not reach comes second (row_order.py):
a mean over the full batch size, right on every other batch, shows there. Tested both ways."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients
from nnparity.reference.learner.row_order import batches_of


def test_the_short_batch_comes_second_only_when_the_steps_would_not_reach_it():
    b, notes = batches_of(10, 4, steps=10)  # three batches: reached anyway
    assert [len(x) for x in b] == [4, 4, 2] and not notes
    b, notes = batches_of(82, 4, steps=10)
    assert [len(x) for x in b[:3]] == [4, 2, 4] and list(b[1]) == [80, 81]
    assert sorted(np.concatenate(b)) == list(range(82)) and notes[0].step == 2
    assert batches_of(80, 4, steps=10)[1] == []  # no short batch


@pytest.mark.parametrize("fixed", [False, True])
def test_a_mean_over_a_fixed_batch_size_shows_on_the_short_batch(fixed):
    r = np.random.RandomState(0)
    P = [r.randn(3, 4) * 0.5, np.zeros(4), r.randn(4, 2) * 0.5, np.zeros(2)]
    X, Y = r.randn(82, 3), r.randn(82, 2)

    def grads(X, Y):
        h = np.tanh(X @ P[0] + P[1])
        n = 4 if fixed else len(X)  # the bug: the batch size of the first batch
        do = (h @ P[2] + P[3] - Y) / n
        dh = do @ P[2].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[3, 4, 2], activations="tanh,identity",
        loss="half_sse", optimizer="sgd", lr=0.1, layout="in_out", batch_size=4,
    )  # fmt: skip
    res = check(a, X, Y, steps=10, probe=False)
    if not fixed:
        assert res.code == "match", res.render()
        assert "short_batch_compared" in [f.code for f in res.findings]
        return
    assert res.codes()[0] == "scale_factor" and res.findings[0].step == 2, res.render()
    assert "N/B with B = 4" in res.findings[0].evidence


@pytest.mark.parametrize("divisor", ["batch", "dataset"])
def test_a_mean_over_the_whole_data_set_in_a_batch_gradient_is_named(divisor):
    r = np.random.RandomState(0)
    P = [r.randn(3, 4) * 0.5, np.zeros(4), r.randn(4, 2) * 0.5, np.zeros(2)]
    X, Y = r.randn(40, 3), r.randn(40, 2)
    m = len(X)  # taken once, from the whole data set

    def grads(Xb, Yb):
        h = np.tanh(Xb @ P[0] + P[1])
        do = (h @ P[2] + P[3] - Yb) / (m if divisor == "dataset" else len(Xb))
        dh = do @ P[2].T * (1 - h**2)
        return [Xb.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[3, 4, 2], activations="tanh,identity",
        loss="half_sse", optimizer="sgd", lr=0.1, layout="in_out", batch_size=8,
    )  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    if divisor == "batch":
        assert res.code == "match", res.render()
        return
    assert res.codes() == ["scale_factor"], res.render()
    assert "N/M with M = 40" in res.findings[0].evidence
    assert "len(X) of each call" in res.findings[0].hint
