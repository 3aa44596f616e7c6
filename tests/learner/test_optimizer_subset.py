"""A departure of some parameters only (weight decay left off the biases, a common parameter
group) is named for those parameters, the others following the declared optimizer. Tested
both ways: every parameter decayed matches, with gradients shown or not."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients, from_step


def _adapter(style: str, decay_biases: bool):
    r = np.random.RandomState(0)
    P = [r.randn(3, 5) * 0.5, r.randn(5) * 0.1, r.randn(5, 2) * 0.5, r.randn(2) * 0.1]
    M, V = [np.zeros_like(p) for p in P], [np.zeros_like(p) for p in P]
    t = [0]
    lr, wd = 0.05, 0.1

    def grads(X, Y):
        h = np.tanh(X @ P[0] + P[1])
        do = 2 * (h @ P[2] + P[3] - Y) / Y.size
        dh = do @ P[2].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    def step(X, Y):  # AdamW
        t[0] += 1
        for p, m, v, g in zip(P, M, V, grads(X, Y), strict=True):
            if p.ndim == 2 or decay_biases:
                p *= 1 - lr * wd
            m[...] = 0.9 * m + 0.1 * g
            v[...] = 0.999 * v + 0.001 * g * g
            p -= lr * (m / (1 - 0.9 ** t[0])) / (np.sqrt(v / (1 - 0.999 ** t[0])) + 1e-8)

    names = [f"[{i}]" for i in range(4)]
    kw = dict(sizes=[3, 5, 2], activations="tanh,identity", loss="mse",
              optimizer=f"adamw(weight_decay={wd})", lr=lr, layout="in_out")  # fmt: skip
    if style == "step":
        return from_step(P, names, step, **kw)
    return from_gradients(P, names, grads, step=step, **kw)


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("decay_biases", [True, False])
def test_biases_left_undecayed_are_named_for_the_biases(style, decay_biases):
    r = np.random.RandomState(1)
    X, Y = r.randn(12, 3), r.randn(12, 2)
    res = check(_adapter(style, decay_biases), X, Y, steps=3, probe=False)
    if decay_biases:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "optimizer_update_mismatch" and f.params == ("[1]", "[3]"), res.render()
    assert "weight decay left out" in f.evidence and "the others the declared adamw" in f.evidence
    assert "parameter-group" in f.hint
