"""A step under an adaptive optimizer (its gradients hidden) whose gradient divides by the
full batch size where the last batch is shorter (review s22, finding 6): it was
"unexplained_mismatch" with a note about a cached forward pass that did not apply. The declared
optimizer fed rows / B times PyTorch's gradients at each step takes its steps: named, as the
same bug is under SGD."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(opt: str, bug: str = ""):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 6) * 0.5, "b1": np.zeros(6), "W2": r.randn(6, 2) * 0.5, "b2": np.zeros(2)}
    m = {k: np.zeros_like(v) for k, v in P.items()}
    v = {k: np.zeros_like(x) for k, x in P.items()}
    t = [0]

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        out = h @ P["W2"] + P["b2"]
        n = 8 if bug == "fixed_batch" else len(X)  # 8: the full batch's rows
        d = 2 * (out - y) / (n * out.shape[1])
        if bug == "eps_inside" or bug == "both":
            d = 2 * (out - y) / (8 * out.shape[1]) if bug == "both" else d
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        t[0] += 1
        for k in P:
            v[k] = (0.9 if opt == "rmsprop" else 0.999) * v[k] + (
                0.1 if opt == "rmsprop" else 0.001
            ) * g[k] ** 2
            if opt == "rmsprop":
                den = (
                    np.sqrt(v[k] + 1e-8) if bug in ("eps_inside", "both") else np.sqrt(v[k]) + 1e-8
                )
                P[k] -= 0.01 * g[k] / den
            else:
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                mh, vh = m[k] / (1 - 0.9 ** t[0]), v[k] / (1 - 0.999 ** t[0])
                P[k] -= 0.01 * mh / (np.sqrt(vh) + 1e-8)

    optimizer = "rmsprop(alpha=0.9, eps=1e-8)" if opt == "rmsprop" else "adam"
    decl = dict(sizes=[3, 6, 2], activations="tanh,identity", loss="mse", batch_size=8)
    return from_step(P, list(P), step, optimizer=optimizer, lr=0.01, **decl)


def _data():
    r = np.random.RandomState(1)
    return r.randn(20, 3), r.randn(20, 2)  # batches of 8, 8, 4


@pytest.mark.parametrize("opt", ["rmsprop", "adam"])
def test_correct_code_matches(opt):
    assert check(_adapter(opt), *_data(), steps=6, watch=0, probe=False).code == "match"


@pytest.mark.parametrize("opt", ["rmsprop", "adam"])
def test_a_fixed_batch_size_on_the_short_batch_is_named(opt):
    res = check(_adapter(opt, "fixed_batch"), *_data(), steps=6, watch=0, probe=False)
    f = res.findings[0]
    assert f.code == "optimizer_update_mismatch" and f.step == 3, res.render()
    assert "times rows / B at each step: a mean over B = 8 rows where step 3's batch has 4" in (
        f.evidence
    )
    assert f.hint.startswith("your gradient divides by the full batch size")
    assert "step_forward_order" not in res.codes(), res.render()


@pytest.mark.parametrize("bug", ["eps_inside", "both"])
def test_another_departure_is_not_read_as_the_short_batch(bug):
    """eps inside the root parts from step 1 (at every batch): never the short batch alone;
    alone, RMSprop's is optax's form, a note (review s36 F3)."""
    res = check(_adapter("rmsprop", bug), *_data(), steps=6, watch=0, probe=False)
    if bug == "eps_inside":
        assert res.code == "match" and res.codes() == ["eps_inside_form"], res.render()
    else:
        assert res.code == "implementation_bug", res.render()
    assert all("rows / B" not in f.evidence for f in res.findings), res.render()
