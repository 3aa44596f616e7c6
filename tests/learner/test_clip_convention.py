"""Binary cross-entropy by the chain rule with a safe log's epsilon, dL/da with a clipped to
[eps, 1 - eps] times sigma'(z), parts from PyTorch only at saturated samples: a convention
(LEARNER_BUGS.md: clipping epsilons in logs are not bugs), matched with a note. Tested both
ways: a bug beside the clip is still a bug."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients


def _check(eps: float, factor: float = 1.0):
    r = np.random.RandomState(0)
    P = [r.randn(3, 6) * 0.5, np.zeros(6), r.randn(6, 1) * 0.5, np.zeros(1)]
    X = r.randn(16, 3)
    Y = (X[:, :1] > 0).astype(float)
    X[0] *= 40.0  # one sample drives the output into saturation
    P[2][:, 0] = np.abs(P[2][:, 0]) * 8
    Y[0] = 0.0

    def grads(X, Y):
        h = np.tanh(X @ P[0] + P[1])
        a = 1 / (1 + np.exp(-(h @ P[2] + P[3])))
        p = np.clip(a, eps, 1 - eps)
        da = (p - Y) / (p * (1 - p)) / len(X)  # -(y/p - (1-y)/(1-p)), averaged
        do = factor * da * a * (1 - a)
        dh = do @ P[2].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[3, 6, 1],
        activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.1, layout="in_out",
    )  # fmt: skip
    return check(a, X, Y, steps=3, probe=False)


@pytest.mark.parametrize("eps", [1e-5, 1e-7, 1e-15])
def test_a_safe_logs_epsilon_in_the_chain_rule_is_a_note(eps):
    res = _check(eps)
    assert res.code == "match", res.render()
    note = [f for f in res.findings if f.code == "clip_convention"]
    if eps < 1e-12:  # no sample within eps of 0 or 1: nothing parts, nothing to say
        assert not note, res.render()
        return
    assert note and note[0].kind == "note" and f"{eps:g}" in note[0].evidence, res.render()


def test_a_bug_beside_the_clip_is_still_a_bug():
    res = _check(1e-7, factor=2.0)
    assert res.code == "implementation_bug", res.render()
    assert "clip_convention" not in res.codes()
