"""Optimizer departures named right (issue 11, review B1-B3): a ``from_step`` learner whose
own Adam (or RMSprop) updates its weights in place and hides its gradients, each bug tested
both ways (the correct twin is ``match``, the bug is named, never as another one)."""

from __future__ import annotations

import pytest
import torch
from optim_learners import _check, _finding

from nnparity.reference.learner.optim_variants import Sim, _fit_value


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


@pytest.mark.parametrize(
    "bug,value,label,fix",
    [
        ("avg_beta1", 0.8, "beta1 = 0.8 in m's moving average (0.9 in its bias correction)",
         "use the same beta1 (0.9) in m's moving average"),
        ("avg_beta2", 0.99, "beta2 = 0.99 in v's moving average (0.999 in its bias correction)",
         "use the same beta2 (0.999) in v's moving average"),
        ("mix_m", None, "c = 0.0100 = (1 - beta2) / (1 - beta1)",
         "m's moving average takes (1 - beta2) g: write m = 0.9 m + 0.1 g"),
        ("mix_v", None, "c = 0.1000 = sqrt((1 - beta2) / (1 - beta1))",
         "v's moving average takes (1 - beta1) g^2: write v = 0.999 v + 0.001 g^2"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("style", ["step", "gradients"])
def test_a_beta_in_one_moving_average_alone_is_named(bug, value, label, fix, style):
    """Review s14 (a64_beta1, unexplained): beta1 = 0.8 in m's average with 0.9 in its
    correction; and the betas' complements swapped in an average, a constant step factor
    that was told as "use the declared learning rate"."""
    f = _finding(_check(bug=bug, value=value, style=style))
    assert label in f.evidence and fix in f.hint, f.evidence + " | " + f.hint
    assert "learning rate" not in f.hint and "eps =" not in f.evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_a_state_made_anew_at_every_step_is_named(opt, style):
    """Review s15a: nnfs's Adam with a hasattr typo (weight_caches for weight_cache) zeroes
    its moments at every step: unexplained, where SGD's restarting velocity was named."""
    f = _finding(_check(opt, "no_state", style=style))
    assert "state made anew (zeros) at every step" in f.evidence, f.evidence
    assert "hasattr check must test the very name it sets" in f.hint
    assert "departures together" not in f.evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize(
    "bug,said",
    [("g_numerator", "the gradient g in the step's numerator"),
     ("mv_swapped", "m and v swapped in the step"),
     ("betas_swapped", "beta1 and beta2 swapped")],
)  # fmt: skip
def test_the_step_built_from_the_wrong_moment_is_named(bug, said, style):
    """Review s15b: g where m_hat belongs, and v_hat / sqrt(|m_hat|), were unexplained; the
    betas handed in the wrong order (m averaged with 0.999, v with 0.9) too, until s28."""
    f = _finding(_check(bug=bug, style=style))
    assert said in f.evidence and "departures together" not in f.evidence, f.evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_undeclared_amsgrad_is_named_quickly(style):
    """Review s15c: AMSGrad where plain Adam is declared took 40 s to say nothing."""
    f = _finding(_check(bug="amsgrad", style=style))
    assert "AMSGrad's running maximum of v where plain Adam is declared" in f.evidence, f


@pytest.mark.parametrize("decay", [1e-2, 5e-7])
@pytest.mark.parametrize("style", ["step", "gradients"])
def test_a_frozen_step_count_under_a_declared_lr_decay_is_named_whole(style, decay):
    """Review s15a: nnfs's Adam that never advances ``iterations`` freezes both its bias
    corrections (t = 1) and its lr decay: both named, no beta fitted to absorb the decay.
    Review s45 F6: a decay too small to show on the first failing steps (nnfs's own 5e-7 at
    its length of run) joins the frozen t once the later steps show it."""
    f = _finding(_check(bug="t_frozen", style=style, declare={"lr_decay": decay}))
    assert "taken at t = 1 at every step" in f.evidence, f.evidence
    assert "the declared lr schedule not applied" in f.evidence
    assert "beta" not in f.evidence.split("torch.optim")[0]


# -- the opposite error: no fitted departure claims another bug -------------------------------
@pytest.mark.parametrize(
    "bug,value,not_in",
    [
        ("beta1", 0.89, ("eps", "beta2", "c = ")),
        ("beta2", 0.99, ("eps", "beta1", "c = ")),
        ("lr", 1e-5, ("eps", "beta", "alpha")),
        ("gscale", 32.0, ("beta", "lr =")),
        ("eps", 1e-6, ("beta", "lr =")),
        ("nosqrt", None, ("eps =", "beta", "lr =", "c = ")),
    ],
)
def test_fitted_departures_do_not_claim_other_bugs(bug, value, not_in):
    r = _check(bug=bug, value=value)
    assert r.code == "implementation_bug", r.render()
    ev = r.findings[0].evidence
    assert not any(s in ev for s in not_in), ev
    if bug == "nosqrt":  # (review s30a F7: named, where it was unexplained)
        assert "v_hat where its square root belongs" in ev, r.render()


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
        ("t_ahead_m", "m's bias correction 1 - b1^t taken one step ahead", "divide m by"),
        ("t_frozen", "taken at t = 1 at every step (t never incremented)", "increment t"),
        ("t_per_layer", "t advanced at each layer's update, first layer first", "pre_update"),
        ("t_per_layer_rev", "at each layer's update, last layer first", "once per step"),
        ("t_per_param", "t advanced at each parameter's update, not once", "once per step"),
        ("t_per_param_rev", "at each parameter's update, last first", "once per step"),
        ("t_per_param_layers_rev", "the last layer first and W before b", "once per step"),
        ("t_twice", "t advanced twice a step (t = 2, 4, 6, ...)", "once per step"),
        ("bc_pow", "written (1 - b)^t where 1 - b^t belongs", "1 - np.power(beta1, t)"),
    ],
)
def test_adam_with_t_one_ahead_or_the_papers_eps_hat_is_named(bug, label, fix, style):
    f = _finding(_check("adam", bug, style=style))
    assert label in f.evidence and fix in f.hint, f.evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize(
    ("opt", "bug", "said"),
    [
        ("adam", "own_m", "beta1 / (1 - beta1)|m = b1 m + b1 g"),
        ("adam", "own_v", "sqrt((1 - beta2) / beta2)|v = b2 v + b2 g^2"),
        ("rmsprop", "rms_own", "sqrt((1 - alpha) / alpha)|s = a s + a g^2"),
    ],
)
def test_a_beta_written_for_its_complement_in_an_average_is_named(opt, bug, said, style):
    """Review s18a: Adam's v = b2 v + b2 g^2 was told 'use the declared learning rate' (a
    constant step factor), RMSprop's s = a s + a g^2 unexplained. Either the constant step
    factor is named for what it is, or the simulated variant is."""
    f = _finding(_check(opt, bug, style=style))
    assert any(s in f.evidence for s in said.split("|")), f.evidence
    assert "learning rate" not in f.hint and ("1 - beta" in f.hint or "1 - alpha" in f.hint)


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_a_second_moment_over_abs_g_is_named(opt, style):
    """Review s28: Adam's v averaged over |g| (v = b2 v + (1 - b2) |g|) was unexplained."""
    f = _finding(_check(opt, "v_abs", style=style))
    assert "over |g| where g^2 belongs" in f.evidence, f.evidence
    assert "g**2" in f.hint and "not their absolute values" in f.hint, f.hint


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize(
    ("opt", "bug", "said", "fix"),
    [
        ("adam", "swap_m", "m = (1 - b1) m + b1 g", "m = beta1 m + (1 - beta1) g"),
        ("adam", "swap_v", "v = (1 - b2) v + b2 g^2", "v = beta2 v + (1 - beta2) g**2"),
        ("rmsprop", "swap_v", "s = (1 - a) s + a g^2", "v = beta2 v + (1 - beta2) g**2"),
        ("adam", "nosqrt", "m_hat / (v_hat + eps)", "np.sqrt(v_hat)"),
        ("adam", "wd_sign", "g - wd w added where g + wd w belongs", "g + weight_decay * w"),
    ],
)
def test_a_moments_weights_swapped_a_missing_root_or_a_decay_sign_is_named(
    opt, bug, said, fix, style
):
    """Review s30a F7: RMSprop's s = (1 - a) s + a g^2 (alpha outside the fitted range), Adam
    without the root and Adam's decay added with a minus sign were 'no known variant'."""
    kw = {"wd": 0.01} if bug == "wd_sign" else {}
    f = _finding(_check(opt, bug, style=style, **kw))
    assert said in f.evidence and fix in f.hint, f.evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_the_adam_papers_eps_hat_form_is_a_match_with_a_note(style):
    """Kingma & Ba's efficient form (TensorFlow's and Keras's Adam), eps added to sqrt(v)
    before the bias correction, is a valid Adam (review s18a: exit 1 before): a note."""
    r = _check("adam", "eps_hat", style=style)
    assert r.code == "match" and r.codes() == ["eps_hat_form"], r.render()
    f = r.findings[0]
    assert "eps added to sqrt(v) before the bias correction" in f.evidence
    assert f.kind == "note" and f.hint.startswith("nothing to fix")


def test_eps_hat_beside_another_eps_stays_a_bug():
    r = _check("adam", "eps_hat_eps", 1e-6)
    assert r.code == "implementation_bug", r.render()
    assert "eps_hat_form" not in r.codes(), r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_a_decaying_learning_rate_is_named_as_a_schedule(opt, style):
    r = _check(opt, "decay", 0.97, style=style)
    assert r.codes() == ["lr_schedule"], r.render()
    f = r.findings[0]
    assert f.step == 2 and "times 1, 0.97, 0.9409" in f.evidence
    assert "lr x 0.97^(t-1): an exponential decay" in f.evidence
    assert "declare lr_gamma=0.97" in f.hint  # (declared, it matches: test_lr_schedule_declared)


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
    assert "declare clip_grad_value=0.05" in f.hint  # the declaration that takes it


def test_an_unnamed_update_bug_on_one_parameter_names_that_parameter_only():
    """Review s6: the 'no known variant' finding listed every parameter."""
    r = _check("adam", "quartic_W1", style="gradients")
    f = _finding(r)
    assert "no known adam variant" in f.evidence and f.params == ("W1",), r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_a_small_inverse_time_decay_is_a_schedule_not_a_fitted_eps_or_beta(style):
    """nnfs's Adam(decay=5e-7): a fitted eps or beta2 also absorbs multipliers this near 1
    (review s8a); the closed-form decay that reproduces the steps exactly is said instead."""
    r = _check("adam", "invdecay", 5e-7, lr=0.1, style=style)
    assert r.codes() == ["lr_schedule"], r.render()
    assert "lr / (1 + 5e-07 (t-1)): an inverse-time decay" in r.findings[0].evidence


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_adams_t_advanced_once_per_epoch_is_named_as_such_not_never(style):
    """Review s16a: deeplearning.ai's Adam with ``t = t + 1`` in the epoch loop (t = 1 for
    the first pass's steps, then 2) was said to be "never incremented"; the steps after the
    first pass tell the two apart. t that is truly never incremented stays so named."""
    from optim_learners import X, Y, learner

    from nnparity.reference.learner import check

    for bug, value, said in (("t_epoch", 3, "once per pass over the data (every 3 steps"),
                             ("t_frozen", None, "t never incremented")):  # fmt: skip
        a = learner("adam", bug, value, style=style)
        r = check(a, X[:9], Y[:9], steps=8, watch=8, batch_size=3, probe=False)
        assert said in _finding(r).evidence, r.render()
