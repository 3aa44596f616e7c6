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


def _saturated(clamp: bool | str, sign: float = 1.0):
    """Unscaled inputs (ages, hours) drive every output past |z| = 28 (review s16b's c02 and
    c04): nnfs's clip of a to [1e-7, 1 - 1e-7], or PyTorch's BCELoss itself, a (1 - a) held
    above 1e-12, loses the gradient of every wrongly classified sample."""
    r = np.random.RandomState(0)
    X = np.c_[r.uniform(18, 70, 40), r.uniform(10, 60, 40)]
    Y = (X[:, :1] > 40).astype(float)
    P = [np.abs(0.5 * r.randn(2, 4)), np.zeros(4), -0.3 * np.abs(r.randn(4, 1)), np.zeros(1)]

    def grads(X, Y):
        h = np.maximum(X @ P[0] + P[1], 0)
        a = 1 / (1 + np.exp(-(h @ P[2] + P[3])))
        if clamp == "add":  # eps added to each denominator
            da = -(Y / (a + 1e-8) - (1 - Y) / (1 - a + 1e-8))
        elif clamp:
            da = (a - Y) / np.maximum(a * (1 - a), 1e-12)
        else:
            p = np.clip(a, 1e-7, 1 - 1e-7)
            da = (p - Y) / (p * (1 - p))
        do = sign * da / len(X) * a * (1 - a)
        dh = do @ P[2].T * (h > 0)
        return [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[2, 4, 1],
        activations="relu,sigmoid", loss="bce", optimizer="sgd", lr=1e-3, layout="in_out",
    )  # fmt: skip
    return check(a, X, Y, steps=3, probe=False)


@pytest.mark.parametrize(
    "clamp", [False, True, "add"], ids=["nnfs_clip", "torch_bceloss", "eps_added"]
)
def test_a_clip_that_every_output_passes_is_a_note_that_counts_the_samples(clamp):
    """Was sign_flip + scale_factor (c = -0.0000: a fit to a gradient 1e-15 of PyTorch's),
    and for PyTorch's own BCELoss a reading "divides by 688835397721"."""
    res = _saturated(clamp)
    assert res.code == "match", res.render()
    (note,) = res.findings
    assert note.code == "clip_convention", res.render()
    assert "samples saturate away from" in note.evidence and "of 40 samples" in note.evidence, (
        res.render()
    )


def test_a_sign_flip_beside_a_saturated_clip_is_still_a_bug():
    res = _saturated(False, sign=-1.0)
    assert res.code == "implementation_bug", res.render()
    assert "clip_convention" not in res.codes(), res.render()


def _softmax_net(
    eps: float,
    jacobian: bool,
    add: bool = False,
    factor: float = 1.0,
    late: int = 0,
    steps: int = 3,
):
    """A separate softmax layer and cross-entropy's dL/dp = -Y / clip(p, eps, 1) / N through
    its full Jacobian (``jacobian``), or p - Y from p clipped to [eps, 1 - eps] in the forward
    pass; inputs in the tens, so most rows saturate (review s16b c06). ``add``: dL/dp =
    -Y / (p + eps) / N, the gradient of -log(p + eps) (review s36 F1: called a bug)."""
    r = np.random.RandomState(0)
    X = np.c_[r.uniform(18, 70, 90), r.uniform(10, 60, 90)]
    Y = np.eye(3)[np.digitize(X[:, 0], [35, 52])]
    P = {"W1": 0.5 * r.randn(2, 6), "b1": np.zeros(6), "W2": 0.5 * r.randn(6, 3),
         "b2": np.zeros(3)}  # fmt: skip

    def forward(X):
        a1 = np.maximum(0, X @ P["W1"] + P["b1"])
        z = a1 @ P["W2"] + P["b2"]
        e = np.exp(z - z.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        return (p if jacobian else np.clip(p, eps, 1 - eps)), a1

    calls = [0]

    def grads(X, Y):
        calls[0] += 1
        p, a1 = forward(X)
        if jacobian:
            dp = -Y / ((p + eps) if add else np.clip(p, eps, 1)) / len(X) * factor
            dz2 = p * (dp - (dp * p).sum(1, keepdims=True))  # (diag(p) - p p^T) dp per row
        else:
            dz2 = (p - Y) / len(X)
        dz1 = dz2 @ P["W2"].T * (a1 > 0)
        dW1 = X.T @ dz1 * (2.0 if late and calls[0] >= late else 1.0)  # a bug from call late
        return {"W1": dW1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

    a = from_gradients(P, list(P), grads, forward=lambda X: forward(X)[0], sizes=[2, 6, 3],
                       activations="relu,softmax", loss="cross_entropy", optimizer="sgd",
                       lr=1e-4)  # fmt: skip
    return check(a, X, Y, steps=steps, probe=False)


@pytest.mark.parametrize("jacobian", [True, False])
@pytest.mark.parametrize("eps", [1e-7, 0.1])
def test_a_safe_logs_epsilon_in_cross_entropy_is_a_note_and_a_wide_clip_a_bug(jacobian, eps):
    r = _softmax_net(eps, jacobian)
    if eps > 1e-3:  # no safe log's: 0.1 moves every row whose class has p < 0.1
        assert r.code == "implementation_bug", r.render()
        return
    assert r.code == "match", r.render()
    f = next(f for f in r.findings if f.code == "clip_convention" and f.params != ("forward",))
    assert "softmax output" in f.hint, r.render()
    # dividing by the clipped p loses the saturated rows' gradient; p - y from a clipped p not
    assert ("samples saturate" in f.evidence) == jacobian, r.render()


@pytest.mark.parametrize("eps", [1e-7, 1e-9])
def test_an_epsilon_added_inside_cross_entropys_log_is_a_note(eps):
    r = _softmax_net(eps, True, add=True)
    assert r.code == "match", r.render()
    f = next(f for f in r.findings if f.code == "clip_convention")
    assert f"-log(p + {eps:g})" in f.evidence and "eps / p relative" in f.evidence, r.render()


@pytest.mark.parametrize("eps, factor", [(0.01, 1.0), (1e-7, 1.5)])
def test_a_wide_added_epsilon_or_a_factor_beside_one_is_a_bug(eps, factor):
    r = _softmax_net(eps, True, add=True, factor=factor)  # 0.01: wider than any safe log's
    assert r.code == "implementation_bug", r.render()
    assert "clip_convention" not in r.codes(), r.render()


def test_a_bug_after_the_steps_a_convention_was_read_on_is_still_a_bug():
    """Review s38 F3: -log(p + eps) with W1's gradient doubled from step 6 was a match, the
    note read on steps 1-3; the last failing steps are read too."""
    r = _softmax_net(1e-4, True, add=True, late=7, steps=10)
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].kind == "bug" and "W1" in r.findings[0].params, r.render()
