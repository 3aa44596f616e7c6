"""Optimizer departures named right (issue 11, review B1-B3): a ``from_step`` learner whose
own Adam (or RMSprop) updates its weights in place and hides its gradients, each bug tested
both ways (the correct twin is ``match``, the bug is named, never as another one)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnparity.reference.learner import check, from_gradients, from_step
from nnparity.reference.learner.optim_variants import Sim, _fit_value

NAMES = ["W1", "b1", "W2", "b2"]


class Learner:
    """d-H-1 tanh regression, mse (mean over the batch), its own optimizer in place.

    ``bug``: ``lr`` (lr x (1 + value)), ``gscale`` (gradients x value), ``eps``, ``beta1``,
    ``beta2`` (used consistently, in the average and the correction), ``alpha`` (RMSprop),
    ``t_ahead`` (the corrections at t + 1), ``eps_hat`` (eps added before the correction),
    ``t_per_layer``, ``t_per_param`` (t advanced at each layer's or parameter's update; their
    ``_rev``: the parameters updated last first)."""

    def __init__(self, opt="adam", lr=0.01, bug=None, value=None, d=3, H=6, seed=0, wd=0.0):
        rng = np.random.default_rng(seed)
        self.P = {
            "W1": rng.normal(0, 1 / np.sqrt(d), (d, H)),
            "b1": rng.normal(0, 0.1, H),
            "W2": rng.normal(0, 1 / np.sqrt(H), (H, 1)),
            "b2": np.zeros(1),
        }
        self.S = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in self.P.items()}
        self.opt, self.lr, self.bug, self.value, self.t = opt, lr, bug, value, 0
        self.wd = wd  # L2 weight decay added to the gradient, as torch's Adam adds it

    def grads(self, X, y):
        P = self.P
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        out = a1 @ P["W2"] + P["b2"]
        d = 2 * (out - y) / out.size
        dz1 = d @ P["W2"].T * (1 - a1**2)
        g = {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ d, "b2": d.sum(0)}
        if self.bug == "gscale":
            g = {k: v * self.value for k, v in g.items()}
        return g

    def step(self, X, y):
        self.update(self.grads(X, y))

    def shown(self, X, y):
        """The gradients, shown (``from_gradients`` style), kept for ``update``."""
        self.last = self.grads(X, y)
        return self.last

    def update(self, g):
        self.t += 1
        bug, val, t = self.bug, self.value, self.t
        lr = self.lr * (1 + val) if bug == "lr" else self.lr
        if bug == "decay":  # an exponential schedule
            lr = self.lr * val ** (t - 1)
        if bug == "invdecay":  # Keras's and nnfs's decay
            lr = self.lr / (1 + val * (t - 1))
        eps = val if bug == "eps" else 1e-8
        g = {k: g[k] + self.wd * p for k, p in self.P.items()}
        if bug == "clip":  # elementwise clipping before the update
            g = {k: np.clip(v, -val, val) for k, v in g.items()}
        items = list(self.P.items())
        for i, (k, p) in enumerate(items[::-1] if bug and bug.endswith("_rev") else items):
            m, v = self.S[k]
            if bug == "t_twice":  # t advanced twice a step (a second t += 1 in update)
                t = 2 * self.t
            if bug and bug.startswith("t_per_"):  # t advanced inside each unit's update
                per_layer = bug.startswith("t_per_layer")
                t = (self.t - 1) * (2 if per_layer else 4) + (i // 2 if per_layer else i) + 1
            if self.opt == "rmsprop":
                a = val if bug == "alpha" else 0.99
                v *= a
                v += (1 - a) * g[k] ** 2
                vh = v
                if bug in ("rms_bc", "rms_bc_behind"):  # Adam's correction on RMSprop's s
                    with np.errstate(divide="ignore"):
                        vh = v / (1 - a ** (t - (bug == "rms_bc_behind")))
                p -= lr * g[k] / (np.sqrt(vh) + eps)
                continue
            if bug == "nosqrt" or (bug == "nosqrt_W1" and k == "W1"):  # no variant has it
                v *= 0.999
                v += 1e-3 * g[k] ** 2
                p -= lr * g[k] / (v / (1 - 0.999**t) + eps)
                continue
            b1 = val if bug == "beta1" else 0.9
            b2 = val if bug == "beta2" else 0.999
            m *= b1
            m += (1 - b1) * g[k]
            v *= b2
            v += (1 - b2) * g[k] ** 2
            if bug == "eps_hat":  # Kingma & Ba's efficient form
                p -= lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
                continue
            t1 = t + 1 if bug in ("t_ahead", "t_ahead_m") else (1 if bug == "t_frozen" else t)
            t2 = t + 1 if bug == "t_ahead" else (1 if bug == "t_frozen" else t)
            if bug == "t_behind":  # Ng's course: t advanced after the update, 0 at first
                t1 = t2 = t - 1
            if bug in ("t_behind_v", "t_behind_m"):  # nnfs with one "+ 1" left out
                t1, t2 = (t1, t - 1) if bug == "t_behind_v" else (t - 1, t2)
            p -= lr * (m / (1 - b1**t1)) / (np.sqrt(v / (1 - b2**t2)) + eps)


def data(n=32, d=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.sin(X @ rng.normal(size=(d, 1)))


def learner(opt="adam", bug=None, value=None, lr=0.01, style="step", declare=None, **kw):
    """``style``: ``step`` (from_step, gradients hidden) or ``gradients`` (from_gradients
    with the learner's own update as ``step``)."""
    net = Learner(opt, lr, bug, value, **kw)
    decl = dict(
        sizes=[3, net.P["W1"].shape[1], 1],
        activations="tanh,identity",
        loss="mse",
        optimizer=opt,
        lr=lr,
    )
    if kw.get("wd"):
        decl["weight_decay"] = kw["wd"]
    decl.update(declare or {})
    if style == "gradients":
        return from_gradients(
            net.P, NAMES, net.shown, step=lambda X, y: net.update(net.last), **decl
        )
    return from_step(net.P, NAMES, net.step, **decl)


X, Y = data()


def _check(opt="adam", bug=None, value=None, **kw):
    return check(learner(opt, bug, value, **kw), X, Y, steps=5, probe=False)


def _finding(r):
    assert r.code == "implementation_bug", r.render()
    assert r.codes() == ["optimizer_update_mismatch"], r.render()
    return r.findings[0]


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_the_correct_twin_matches(opt, style):
    r = _check(opt, style=style)
    assert r.code == "match" and r.findings == (), r.render()


# -- B1: a fit on the edge of its range is no fit -------------------------------------------
def test_a_fit_on_the_edge_of_its_range_is_no_value():
    """eps = 1e-14 lies below the range searched (1e-12 .. 0.1): its best fit is the edge,
    which must not be reported as eps = 1e-12; eps = 1e-11 inside it is fitted."""
    g = torch.Generator().manual_seed(0)
    P = {"w": torch.randn(50, generator=g, dtype=torch.float64) * 1e-3}
    seqs = {}
    for eps in (1e-14, 1e-11):
        sim, seq, p = Sim("adam", {"lr": 0.01, "eps": eps}), [], P
        for _ in range(3):
            G = {"w": torch.randn(50, generator=g, dtype=torch.float64) * 1e-9}
            A = sim.step(p, G)
            seq.append((p, G, A))
            p = A
        seqs[eps] = seq
    fit = _fit_value("adam", {"lr": 0.01}, ("eps_value",), "eps_value", seqs[1e-14], 1e-6, 1e-6)
    assert fit is None
    fit = _fit_value("adam", {"lr": 0.01}, ("eps_value",), "eps_value", seqs[1e-11], 1e-6, 1e-6)
    assert fit is not None and abs(fit / 1e-11 - 1) < 1e-2


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("rel", [1e-6, 1e-5, 5e-5, 1e-4])
def test_a_slightly_wrong_lr_is_named_as_lr_at_its_resolution(rel, style):
    """lr x (1 + 1e-6) was named "eps = 1e-12" (the edge of eps's range); lr off by 1e-5 ..
    1e-4 was unexplained: each is the step times c, lr = lr (1 + rel)."""
    f = _finding(_check(bug="lr", value=rel, style=style))
    assert f"c = {1 + rel:.8g} times" in f.evidence, f.evidence
    assert f"lr = {0.01 * (1 + rel):.8g} where 0.01 is declared" in f.evidence
    assert "eps" not in f.evidence and "beta" not in f.evidence


# -- B2: gradients c times PyTorch's under Adam are also eps / c -----------------------------
def test_a_batch_sum_under_adam_names_the_gradient_first_and_eps_too():
    """g x 32 (a sum over a batch of 32 where the loss is a mean) is the same Adam steps as
    eps / 32: both readings named, the gradient's first (c = N)."""
    f = _finding(_check(bug="gscale", value=32.0))
    assert "fed with c = 32 = N (N = 32) times those gradients" in f.evidence, f.evidence
    assert "eps = 3.12e-10 where 1e-08 is declared" in f.evidence
    assert f.hint.startswith("check your gradient's 1/N first"), f.hint
    assert "use the declared eps = 1e-08" in f.hint


def test_a_power_of_two_gradient_factor_is_named_first():
    f = _finding(_check(bug="gscale", value=4.0))
    assert "fed with c = 4 times those gradients" in f.evidence, f.evidence
    assert "eps = 2.5e-09 where 1e-08 is declared" in f.evidence


def test_a_plain_wrong_eps_is_named_first_with_the_gradient_reading_second():
    """eps = 1e-6 (c = 0.01: no batch-size-like factor): eps first, the gradient second."""
    f = _finding(_check(bug="eps", value=1e-6))
    assert "follow adam with eps = 1e-06 where 1e-08 is declared, or the same steps" in (
        f.evidence
    ), f.evidence
    assert "c = 0.01 times those gradients" in f.evidence
    assert f.hint.startswith("use the declared eps = 1e-08, or declare eps=1e-06"), f.hint


# -- B3: consistently wrong betas and alpha ---------------------------------------------------
@pytest.mark.parametrize(
    "opt,bug,value,label,fix",
    [
        ("adam", "beta2", 0.99, "beta2 = 0.99 where 0.999 is declared", "declare beta2=0.99"),
        ("adam", "beta1", 0.89, "beta1 = 0.89 where 0.9 is declared", "declare beta1=0.89"),
        ("adam", "beta1", 0.95, "beta1 = 0.95 where 0.9 is declared", "declare beta1=0.95"),
        ("rmsprop", "alpha", 0.9899, "alpha = 0.9899 where 0.99 is declared", "alpha=0.9899"),
        ("rmsprop", "alpha", 0.9, "alpha = 0.9 where 0.99 is declared", "declare alpha=0.9"),
    ],
)
@pytest.mark.parametrize("style", ["step", "gradients"])
def test_a_consistently_wrong_beta_or_alpha_is_fitted(opt, bug, value, label, fix, style):
    f = _finding(_check(opt, bug, value, style=style))
    assert label in f.evidence and fix in f.hint, f.evidence + " | " + f.hint
    # the fix holds: the same learner, with the fitted value declared, matches
    arg, val = fix.split("declare ")[-1].split("=") if "declare " in fix else fix.split("=")
    r = _check(opt, bug, value, style=style, declare={arg: float(val)})
    assert r.code == "match", r.render()
    assert "bias correction" not in f.evidence and "eps =" not in f.evidence
    assert "departures together" not in f.evidence and "c = " not in f.evidence


# -- the opposite error: no fitted departure claims another bug -------------------------------
@pytest.mark.parametrize(
    "bug,value,not_in",
    [
        ("beta1", 0.89, ("eps", "beta2", "c = ")),
        ("beta2", 0.99, ("eps", "beta1", "c = ")),
        ("lr", 1e-5, ("eps", "beta", "alpha")),
        ("gscale", 32.0, ("beta", "lr =")),
        ("eps", 1e-6, ("beta", "lr =")),
        ("nosqrt", None, ("eps", "beta", "lr =", "c = ")),
    ],
)
def test_fitted_departures_do_not_claim_other_bugs(bug, value, not_in):
    r = _check(bug=bug, value=value)
    assert r.code == "implementation_bug", r.render()
    ev = r.findings[0].evidence
    assert not any(s in ev for s in not_in), ev
    if bug == "nosqrt":
        assert r.codes() == ["unexplained_mismatch"], r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_a_batch_sum_under_adam_with_weight_decay_is_the_gradients(style):
    """With weight decay g x c is no eps / c (the decay is not scaled): the gradient reading
    alone, tried for N, 1/N, 2, 1/2; the twin with weight decay matches."""
    r = _check(style=style, wd=0.1)
    assert r.code == "match" and r.findings == (), r.render()
    r = _check(bug="gscale", value=32.0, style=style, wd=0.1)
    if style == "gradients":  # shown: the gradient itself is c = N times PyTorch's
        assert r.codes() == ["scale_factor"] and "N = 32" in r.findings[0].evidence
        return
    f = _finding(r)
    assert "fed with c = 32 = N (N = 32) times those gradients" in f.evidence, f.evidence
    assert "eps" not in f.evidence and f.hint.startswith("check your gradient's 1/N first")


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize(
    ("bug", "label", "fix"),
    [
        ("t_ahead", "bias corrections 1 - b^t taken one step ahead (t + 1)", "count t from 1"),
        ("eps_hat", "eps added to sqrt(v) before the bias correction", "Kingma & Ba"),
        ("t_ahead_m", "m's bias correction 1 - b1^t taken one step ahead", "divide m by"),
        ("t_frozen", "taken at t = 1 at every step (t never incremented)", "increment t"),
        ("t_per_layer", "t advanced at each layer's update, first layer first", "pre_update"),
        ("t_per_layer_rev", "at each layer's update, last layer first", "once per step"),
        ("t_per_param", "t advanced at each parameter's update, not once", "once per step"),
        ("t_per_param_rev", "at each parameter's update, last first", "once per step"),
        ("t_twice", "t advanced twice a step (t = 2, 4, 6, ...)", "once per step"),
    ],
)
def test_adam_with_t_one_ahead_or_the_papers_eps_hat_is_named(bug, label, fix, style):
    f = _finding(_check("adam", bug, style=style))
    assert label in f.evidence and fix in f.hint, f.evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_a_decaying_learning_rate_is_named_as_a_schedule(opt, style):
    r = _check(opt, "decay", 0.97, style=style)
    assert r.codes() == ["lr_schedule"], r.render()
    f = r.findings[0]
    assert f.step == 2 and "times 1, 0.97, 0.9409" in f.evidence
    assert "lr x 0.97^(t-1): an exponential decay" in f.evidence
    assert "check with it switched off" in f.hint


@pytest.mark.parametrize(
    ("value", "shown"), [(1e-3, "1, 0.999001, 0.998004"), (5e-7, "1, 0.9999995")]
)
def test_an_inverse_time_decay_is_named_with_digits_that_tell_the_steps_apart(value, shown):
    r = _check("adam", "invdecay", value)
    assert r.codes() == ["lr_schedule"], r.render()
    f = r.findings[0]
    assert f"times {shown}" in f.evidence
    assert f"lr / (1 + {value:.4g} (t-1)): an inverse-time decay" in f.evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_elementwise_gradient_clipping_is_named_with_its_bound(opt, style):
    r = _check(opt, "clip", 0.05, style=style)
    f = _finding(r)
    assert "clipped to +-0.05 before the update" in f.evidence, f.evidence
    assert "check with clipping off" in f.hint


def test_an_unnamed_update_bug_on_one_parameter_names_that_parameter_only():
    """Review s6: the 'no known variant' finding listed every parameter."""
    r = _check("adam", "nosqrt_W1", style="gradients")
    f = _finding(r)
    assert "no known adam variant" in f.evidence and f.params == ("W1",), r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_a_small_inverse_time_decay_is_a_schedule_not_a_fitted_eps_or_beta(style):
    """nnfs's Adam(decay=5e-7): a fitted eps or beta2 also absorbs multipliers this near 1
    (review s8a); the closed-form decay that reproduces the steps exactly is said instead."""
    r = _check("adam", "invdecay", 5e-7, lr=0.1, style=style)
    assert r.codes() == ["lr_schedule"], r.render()
    assert "lr / (1 + 5e-07 (t-1)): an inverse-time decay" in r.findings[0].evidence


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
