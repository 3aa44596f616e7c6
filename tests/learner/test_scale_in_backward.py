"""A gradient off by a loss-convention factor (2, 1/N ...) is fixed by declaring the loss the
learner differentiates only when its loss value says so; when the value it returns is the
declared loss's, the factor is in its backward pass and the fix says that. Tested both ways."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients


@pytest.mark.parametrize("value", ["declared", "same_factor"])
def test_a_factor_of_two_is_placed_by_the_loss_value(value):
    r = np.random.RandomState(0)
    P = [r.randn(3, 4) * 0.5, np.zeros(4), r.randn(4, 2) * 0.5, np.zeros(2)]
    X, Y = r.randn(10, 3), r.randn(10, 2)

    def grads(X, Y):
        h = np.tanh(X @ P[0] + P[1])
        e = h @ P[2] + P[3] - Y
        loss = (e**2).sum(1).mean() / 2  # half_sse, as declared
        if value == "same_factor":
            loss = 2 * loss  # sse: value and gradient both
        do = 2 * e / len(X)  # the gradient of sse, not of the declared half_sse
        dh = do @ P[2].T * (1 - h**2)
        return loss, [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[3, 4, 2], activations="tanh,identity",
        loss="half_sse", optimizer="sgd", lr=0.1, layout="in_out",
    )  # fmt: skip
    res = check(a, X, Y, steps=2, probe=False)
    if value == "declared":
        f = next(f for f in res.findings if f.code == "scale_factor")
        assert "the factor is in your backward pass" in f.hint, res.render()
        assert "declare the loss you differentiate" not in f.hint
    else:  # value and gradient both sse's: the declaration that takes them (loss_declaration)
        f = res.findings[0]
        assert f.code == "loss_declaration" and "declare loss='sse'" in f.hint, res.render()
