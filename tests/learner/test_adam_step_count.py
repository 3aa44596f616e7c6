"""Adam's and RMSprop's step count and bias corrections named right (reviews s8, s13b), and
float32 Adam learners: a step count from 0, one correction a step behind, RMSprop with
Adam's correction, a typed eps beside a power-of-two gradient scale, an exponential decay."""

from __future__ import annotations

import numpy as np
import pytest
from optim_learners import NAMES, X, Y, _finding, learner

from nnparity.reference.learner import check, from_step


def _f32_adam(eps: float = 1e-8, decay: float = 1.0):
    """A float32 learner with its own Adam (lr x decay^(t-1)), from_step, and its data."""
    rng = np.random.RandomState(1)
    f32 = np.float32
    X = rng.randn(32, 3).astype(f32)
    Y = np.sin(X @ rng.randn(3, 2)).astype(f32)
    P = {"W1": (rng.randn(3, 6) * 0.5).astype(f32), "b1": np.zeros(6, f32),
         "W2": (rng.randn(6, 2) * 0.5).astype(f32), "b2": np.zeros(2, f32)}  # fmt: skip
    S = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in P.items()}
    t = [0]

    def step(X, Y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - Y) / Y.size
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        t[0] += 1
        lr = f32(0.01 * decay ** (t[0] - 1))
        for k, p in P.items():
            m, v = S[k]
            m *= f32(0.9)
            m += f32(0.1) * g[k]
            v *= f32(0.999)
            v += f32(0.001) * g[k] ** 2
            mh, vh = m / f32(1 - 0.9 ** t[0]), v / f32(1 - 0.999 ** t[0])
            p -= lr * mh / (np.sqrt(vh) + f32(eps))

    a = from_step(P, NAMES, step, sizes=[3, 6, 2], activations="tanh,identity", loss="mse",
                  optimizer="adam", lr=0.01)  # fmt: skip
    return a, X, Y


@pytest.mark.parametrize("eps", [1e-5, 1e-4])
def test_a_typed_eps_in_float32_leads_before_a_power_of_two_gradient_scale(eps):
    """In float32 an eps of 1e-5 also fits gradients 2^-10 times PyTorch's: the typed eps
    comes first (review s8b: the scale led, read as 'a sum over the batch')."""
    a, X, Y = _f32_adam(eps=eps)
    f = _finding(check(a, X, Y, steps=5, probe=False))
    said = f"your post-step weights follow adam with eps = {eps:.3g}"
    assert said in f.evidence.split(", or the same steps")[0], f.evidence


def test_an_exponential_decay_in_float32_is_named_with_its_closed_form():
    """float32 steps read their multipliers to about 1e-6: the closed form is found at that
    precision (review s8b: named in float64 only)."""
    a, X, Y = _f32_adam(decay=0.999)
    r = check(a, X, Y, steps=5, probe=False)
    assert r.codes() == ["lr_schedule"], r.render()
    assert "(lr x 0.999^(t-1): an exponential decay)" in r.findings[0].evidence


@pytest.mark.parametrize("style", ["gradients", "step"])
def test_an_adam_step_count_from_0_is_a_bug_not_instability(style):
    """Review s10a (and s10c, for a step that hides its gradients): t = 0 at the first step
    divides by 1 - beta^0 = 0: was numerical_instability with 'guard the denominator'."""
    r = check(learner("adam", "t_behind", style=style), X, Y, steps=5, probe=False)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert "t = 0" in f.evidence and f.hint.startswith("count the steps from 1"), r.render()
    assert "clip" not in f.hint.split(";")[0]


@pytest.mark.parametrize("style", ["gradients", "step"])
@pytest.mark.parametrize("bug", ["t_behind_v", "t_behind_m"])
def test_one_adam_correction_a_step_behind_is_named_not_a_step_that_did_not_update(bug, style):
    """Review s13: nnfs's Adam with the "+ 1" left out of v's correction divides v by
    1 - b2^0 = 0 at the first step: v_hat is inf, the step 0, and the weights stay, which was
    called step_did_not_update (rebinding, copies). The simulated form names it; m's (inf
    weights at the first step) is named where the weights go non-finite, as t = 0."""
    r = check(learner("adam", bug, style=style), X, Y, steps=5, probe=False)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    if bug == "t_behind_m":
        assert f.code == "nonfinite" and "t = 0" in f.evidence, r.render()
        return
    assert r.codes()[0] == "optimizer_update_mismatch", r.render()
    assert "v's bias correction 1 - b2^t taken one step behind (t - 1" in f.evidence, f.evidence
    assert "1 - b2^t with the step's own t" in f.hint


@pytest.mark.parametrize("silenced", [True, False])
@pytest.mark.parametrize("style", ["gradients", "step"])
def test_an_adam_step_count_from_0_is_named_with_numpy_s_warnings_silenced(style, silenced):
    """Review s13b: the t = 0 correction was named from the learner's RuntimeWarning only; a
    program under np.seterr(all='ignore') (or errstate) got the generic 'a division by a state
    still 0'. Adam's step with the corrections at t - 1 reproduces its NaN/Inf entries."""
    old = np.seterr(all="ignore" if silenced else "warn")
    try:
        r = check(learner("adam", "t_behind", style=style), X, Y, steps=5, probe=False)
    finally:
        np.seterr(**old)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert "t = 0 at the first step" in f.evidence and f.hint.startswith("count the steps from 1")


@pytest.mark.parametrize("style", ["gradients", "step"])
@pytest.mark.parametrize("bug", [None, "rms_bc", "rms_bc_behind"])
def test_rmsprop_with_adam_s_bias_correction_is_named(bug, style):
    """Review s13b: RMSprop with s / (1 - alpha^t) was 'no known rmsprop variant', and at
    t - 1 (s / 0 at the first step: the weights stay) step_did_not_update."""
    r = check(learner("rmsprop", bug, style=style), X, Y, steps=5, probe=False)
    if bug is None:
        assert r.code == "match", r.render()
        return
    assert r.codes()[0] == "optimizer_update_mismatch", r.render()
    ev = r.findings[0].evidence
    assert "s divided by a bias correction 1 - alpha^t" in ev, ev
    assert ("taken at t - 1" in ev) == (bug == "rms_bc_behind"), ev
    assert "leave s uncorrected" in r.findings[0].hint
