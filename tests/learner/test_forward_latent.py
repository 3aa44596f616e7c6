"""Forward readings across every layer and latent overflows: iamtrask's sigmoid typo at
every layer (review s59b F10), and an exp that would overflow at larger logits, a naive
softmax or ``exp(z) / (1 + exp(z))`` (review s59b F2)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_forward


def test_a_sigmoid_of_minus_z_at_every_layer_is_one_finding():
    """Review s59b F10: iamtrask's net with ``1 / (1 + np.exp(x))`` for its sigmoid, used at
    both layers, was "no single-layer forward bug reproduces it"."""
    r = np.random.default_rng(3)
    P = {"W1": r.normal(size=(3, 4)), "W2": r.normal(size=(4, 1))}

    def forward(X):
        return 1 / (1 + np.exp(1 / (1 + np.exp(X @ P["W1"])) @ P["W2"]))

    a = from_forward(P, ["W1", "W2"], forward, sizes=[3, 4, 1], activations="sigmoid,sigmoid",
                     bias="none", loss="mse")  # fmt: skip
    res = check(a, r.normal(size=(8, 3)), None, steps=1)
    f = res.findings[0]
    assert (res.code, f.code, f.params) == ("implementation_bug", "wrong_activation", ("W1", "W2"))
    assert "sigmoid(-z) at every layer" in f.evidence and "np.exp(-z)" in f.hint, res.render()


def _overflow_net(form: str):
    """A 2-3 classifier (or a 2-1 sigmoid output) whose weights never make exp overflow on its
    data: a naive softmax / sigmoid, or the stable one."""
    from nnparity.reference.learner import from_loss

    rng = np.random.default_rng(0)
    k = 1 if form.startswith("sig") else 3
    p = {"W1": rng.normal(size=(2, k)), "b1": np.zeros(k)}

    def loss(X, y):
        z = X @ p["W1"] + p["b1"]
        n = len(X)
        if k == 1:
            a = np.exp(z) / (1 + np.exp(z)) if form == "sig_naive" else 1 / (1 + np.exp(-z))
            d = (a - y) / n
            return float(np.mean((a - y) ** 2)), {"W1": X.T @ (2 * d * a * (1 - a)),
                                                   "b1": (2 * d * a * (1 - a)).sum(0)}  # fmt: skip
        e = np.exp(z if form == "naive" else z - z.max(1, keepdims=True))
        q = e / e.sum(1, keepdims=True)
        d = q.copy()
        d[np.arange(n), y] -= 1
        d /= n
        return -np.mean(np.log(q[np.arange(n), y])), {"W1": X.T @ d, "b1": d.sum(0)}

    acts, lossname = ("sigmoid", "mse") if k == 1 else ("identity", "cross_entropy")
    return from_loss(p, loss, sizes=[2, k], activations=acts, loss=lossname, lr=0.1)


@pytest.mark.parametrize("form", ["naive", "stable", "sig_naive", "sig_stable"])
def test_an_exp_that_would_overflow_at_larger_logits_is_a_latent_note(form):
    """Review s59b F2: a naive softmax (or exp(z) / (1 + exp(z))) whose logits stay small was a
    plain match; with the last bias raised past exp's overflow (PyTorch's softmax unchanged)
    it goes NaN: a note beside the match. The stable forms say nothing."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 2))
    y = rng.integers(0, 3, 6) if not form.startswith("sig") else rng.random((6, 1))
    r = check(_overflow_net(form), X, y, steps=2, probe=False)
    assert r.code == "match", r.render()
    notes = [f for f in r.findings if f.code == "nonfinite_at_saturation"]
    if "naive" not in form:
        assert not notes, r.render()
        return
    (f,) = notes
    assert f.kind == "note" and "exp overflows" in f.evidence, r.render()
    assert ("max" if form == "naive" else "1 / (1 + np.exp(-z))") in f.hint, r.render()
