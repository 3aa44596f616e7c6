"""A backward that divides by a or 1 - a agrees with PyTorch until a sigmoid output rounds to
exactly 1, which a long run on separable data reaches (review s30b F1: NaN at step 2027 of the
learner's own training, 300 steps watched, said `match`). One step at the starting weights
with the last layer scaled to saturate tells it: ``nonfinite_at_saturation``, a
numerical_instability; the stable gradient (a - y from the logits) matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _logistic(stable: bool, hidden: bool = False, lr: float = 0.1, opt: str = "sgd"):
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 0.5, (2, 4 if hidden else 1)), "b1": np.zeros(4 if hidden else 1)}
    if hidden:
        P |= {"W2": r.normal(0, 0.5, (4, 1)), "b2": np.zeros(1)}

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"]) if hidden else X
        Wo, bo = (P["W2"], P["b2"]) if hidden else (P["W1"], P["b1"])
        a = 1 / (1 + np.exp(-(h @ Wo + bo)))
        if stable:
            dz = (a - y) / len(X)
        else:  # the chain rule through the loss: -y/a + (1 - y)/(1 - a), times a (1 - a)
            dz = (-y / a + (1 - y) / (1 - a)) * a * (1 - a) / len(X)
        g = {"Wo": h.T @ dz, "bo": dz.sum(0)}
        if not hidden:
            return {"W1": g["Wo"], "b1": g["bo"]}
        dh = dz @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": g["Wo"], "b2": g["bo"]}

    sizes, acts = ([2, 4, 1], "tanh,sigmoid") if hidden else ([2, 1], "sigmoid")
    return from_gradients(P, list(P), grads, sizes=sizes, activations=acts, loss="bce",
                          optimizer=opt, lr=lr)  # fmt: skip


def _separable():
    r = np.random.default_rng(1)
    X = r.normal(size=(16, 2))
    return X, (X[:, :1] + X[:, 1:] > 0).astype(float)


@pytest.mark.parametrize("hidden", [False, True])
def test_a_backward_that_divides_by_one_minus_a_is_a_latent_instability(hidden):
    with np.errstate(all="ignore"):
        r = check(_logistic(False, hidden, lr=10.0), *_separable(), steps=3, probe=False)
    f = next(f for f in r.findings if f.code == "nonfinite_at_saturation")
    if not hidden:  # PyTorch's own training gets there: the verdict (the hidden net's, slower
        assert r.code == "numerical_instability" and f.kind == "bug", r.render()  # a note)
    assert "every step checked agreed" in f.evidence and "a - y" in f.hint, f.evidence


@pytest.mark.parametrize("hidden", [False, True])
def test_the_stable_gradient_matches(hidden):
    r = check(_logistic(True, hidden), *_separable(), steps=3, probe=False)
    assert r.code == "match", r.render()
    assert "nonfinite_at_saturation" not in r.codes()


def test_outputs_all_negative_at_the_start_are_pushed_to_plus_40():
    """Review s30c F1: with every output negative, scaling the largest |z| to 40 sent them all
    to -40, where nothing overflows; the probe puts the largest output at +40."""
    with np.errstate(all="ignore"):
        r = check(_biased(-3.0), *_separable(), steps=3, probe=False)
    assert "nonfinite_at_saturation" in r.codes(), r.render()


def _biased(b0: float):
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 0.5, (2, 1)), "b1": np.full(1, b0)}

    def grads(X, y):
        a = 1 / (1 + np.exp(-(X @ P["W1"] + P["b1"])))
        dz = (-y / a + (1 - y) / (1 - a)) * a * (1 - a) / len(X)
        return {"W1": X.T @ dz, "b1": dz.sum(0)}

    return from_gradients(P, list(P), grads, sizes=[2, 1], activations="sigmoid", loss="bce",
                          optimizer="sgd", lr=0.1)  # fmt: skip


def test_a_saturation_training_does_not_reach_is_a_note():
    """Review s30c F3: each input once with label 0 and once with 1 (the optimum is z = 0):
    the saturated state is never reached, so the fault is a note beside `match`."""
    r = np.random.default_rng(2)
    X = np.repeat(r.normal(size=(8, 2)), 2, axis=0)
    y = np.tile([[0.0], [1.0]], (8, 1))
    with np.errstate(all="ignore"):
        res = check(_logistic(False), X, y, steps=3, probe=False)
    assert res.code == "match", res.render()
    f = next(f for f in res.findings if f.code == "nonfinite_at_saturation")
    assert f.kind == "note" and "does not get there" in f.evidence, f.evidence


def test_outputs_driven_far_negative_alone_leave_it_a_note():
    """Review s34 F2: PyTorch's run sent every output far below 0 (largest |z| 99, on the
    negative side), where a sigmoid is 1e-43, not 0; read as |z| it raised a correct Ng-style
    BCE to a numerical_instability."""
    r = np.random.default_rng(1)
    X = r.normal(size=(16, 2))
    with np.errstate(all="ignore"):
        res = check(_logistic(False, lr=10.0, opt="adam"), X, np.zeros((16, 1)), steps=3,
                    probe=False)  # fmt: skip
    f = next(f for f in res.findings if f.code == "nonfinite_at_saturation")
    assert res.code == "match" and f.kind == "note", res.render()
    assert "does not get there" in f.evidence, f.evidence


def test_float32_outputs_driven_past_exp_s_overflow_are_the_verdict():
    """Review s35 F5: in float32 a sigmoid is exactly 0 below z = -88.7 (exp(-z) overflows),
    where -y/a is 0/0; PyTorch's run reached -107, said a latent note."""
    r = np.random.RandomState(0)
    X = np.concatenate([r.uniform(0.5, 1.0, 20), r.uniform(-30, -25, 20)]).astype(np.float32)
    X, y = X.reshape(-1, 1), np.repeat([1.0, 0.0], 20).astype(np.float32).reshape(-1, 1)
    P = {"W": np.full((1, 1), 0.01, np.float32), "b": np.zeros(1, np.float32)}

    def grads(X, y):
        a = 1 / (1 + np.exp(-(X @ P["W"] + P["b"])))
        dz = (-y / a + (1 - y) / (1 - a)) * a * (1 - a) / len(X)
        return {"W": X.T @ dz, "b": dz.sum(0)}

    a = from_gradients(P, ["W", "b"], grads, sizes=[1, 1], activations="sigmoid", loss="bce",
                       optimizer="sgd", lr=0.2)  # fmt: skip
    with np.errstate(all="ignore"):
        res = check(a, X, y, steps=3, probe=False)
    f = next(f for f in res.findings if f.code == "nonfinite_at_saturation")
    assert res.code == "numerical_instability" and f.kind == "bug", res.render()
    assert "smallest output pre-activation" in f.evidence, f.evidence


@pytest.mark.parametrize("stable", [False, True, "unshifted", "unshifted_warned"])
def test_a_softmax_backward_through_minus_y_over_p_is_caught(stable):
    """Review s35 F4: softmax + CE with -Y/p through the Jacobian (float32) went NaN in its own
    run at step 1177, said `match`: a row's target logits 105 below its largest makes p = 0.
    ``"unshifted"``: p - y right, the softmax's exp without the row's maximum taken off, which
    overflows there: said as that, not as -y/p (review s36 7b: dennybritz's nn-from-scratch),
    from its NaN output rows (warnings silenced) or from its warning (no forward shown)."""
    r = np.random.RandomState(5)
    X = (r.randn(60, 2) * 2).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)]
    P = {"W1": (r.randn(2, 6) * 0.5).astype(np.float32), "b1": np.zeros(6, np.float32),
         "W2": (r.randn(6, 3) * 0.5).astype(np.float32), "b2": np.zeros(3, np.float32)}  # fmt: skip

    def grads(X, Y):
        h = np.maximum(0, X @ P["W1"] + P["b1"])
        s = h @ P["W2"] + P["b2"]
        p = np.exp(s if str(stable).startswith("unshifted") else s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        if stable:
            ds = (p - Y) / len(X)
        else:  # J @ (-Y / p) row by row: p (g - <p, g>) with g = -Y / p
            g = -Y / p / len(X)
            ds = p * (g - (p * g).sum(1, keepdims=True))
        dh = ds @ P["W2"].T * (h > 0)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ ds, "b2": ds.sum(0)}

    def forward(X):  # shown for the unshifted softmax: its NaN rows tell, warnings silenced
        s = np.maximum(0, X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]
        p = np.exp(s)
        return p / p.sum(1, keepdims=True)

    a = from_gradients(P, list(P), grads, sizes=[2, 6, 3], activations="relu,softmax",
                       loss="cross_entropy", optimizer="sgd", lr=0.5,
                       forward=forward if stable == "unshifted" else None)  # fmt: skip
    with np.errstate(**({} if stable == "unshifted_warned" else {"all": "ignore"})):
        res = check(a, X, Y, steps=3, probe=False)
    if stable is True:
        assert res.code == "match" and "nonfinite_at_saturation" not in res.codes(), res.render()
        return
    if str(stable).startswith("unshifted"):
        f = next(f for f in res.findings if f.code == "nonfinite_at_saturation")
        assert "exp of the logits overflows" in f.evidence and "-y/p" not in f.evidence
        assert "z.max(axis=1, keepdims=True)" in f.hint, f.hint
        return
    f = next(f for f in res.findings if f.code == "nonfinite_at_saturation")
    assert "rounds the smallest probability to exactly 0" in f.evidence, f.evidence
    assert "-y/p" in f.evidence and f.hint.startswith("take dL/dz = p - y"), f.hint


def test_minibatches_are_scaled_by_the_first_batch_the_probe_runs():
    """Review s50 F5: scaled so that the largest output over all the data is 40, a first batch
    of four whose own largest was 27 never saturated: no word. The largest output is put in
    the last batch here; the probe scales by the first batch's own."""
    X, y = _separable()
    a = _logistic(False, lr=10.0)
    z = (X @ a.root["W1"] + a.root["b1"]).ravel()
    order = np.argsort(z)  # ascending: the largest output in the last batch
    with np.errstate(all="ignore"):
        r = check(a, X[order], y[order], steps=3, probe=False, batch_size=4)
    assert "nonfinite_at_saturation" in r.codes(), r.render()
