"""The review findings of issue 11 (second edition), each rebuilt as a learner writes it and
tested both ways: the bug is caught (and named), its correct twin is ``match``."""

from __future__ import annotations

import numpy as np
import pytest
from review_learners import (
    acc_data,
    acc_learner,
    adam_late_learner,
    adam_learner,
    late_data,
    late_learner,
    odd_data,
    plain_data,
)

from nnparity.reference.learner import check

ODD = [(8, 0.01), (16, 0.001), (4, 0.1)]  # (H, lr) of the 1-H-1 fit on odd-symmetric data


@pytest.mark.parametrize("H,lr", ODD)
@pytest.mark.parametrize("style", ["step", "loss", "gradients"])
def test_correct_adam_on_odd_symmetric_data_matches(style, H, lr):
    """db1 = db2 = 0 in exact maths: each side's Adam turns its round-off into a step of
    about lr of either sign. The post-step weights' allowance (Adam stepped at g +- R_g)
    covers that step there, and only there."""
    X, Y = odd_data()
    r = check(adam_learner(style, H=H, lr=lr), X, Y, steps=10, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


@pytest.mark.parametrize("bug", ["beta1", "nosqrt", "lr"])
@pytest.mark.parametrize("H,lr", ODD[:2])
@pytest.mark.parametrize("style", ["step", "loss"])
def test_planted_adam_bugs_on_odd_symmetric_data_are_caught(style, H, lr, bug):
    """The allowance is a full step only where the gradient is round-off: beta1 wrong, a
    missing root and lr off by 1e-3 relative still fail on the other weights."""
    X, Y = odd_data()
    r = check(adam_learner(style, bug, H=H, lr=lr), X, Y, steps=10, probe=False)
    assert r.code == "implementation_bug", r.render()
    first = min(x.step for x in r.records if not x.passed)
    assert first <= 4


# -- 2. gradient_accumulation in any subset of the buffers ----------------------------------
SUBSETS = [
    ((("W",), ()), ("layers[0].W",)),
    (((), ("b",)), ("layers[1].b",)),
    ((("W", "b"), ()), ("layers[0].W", "layers[0].b")),
    ((("b",), ("W",)), ("layers[0].b", "layers[1].W")),
]


@pytest.mark.parametrize("acc,names", SUBSETS)
@pytest.mark.parametrize("style", ["layers", "gradients", "step"])
def test_accumulation_into_some_buffers_is_named_with_the_arrays(style, acc, names):
    """Only some buffers use ``+=`` (the others are reset): the determinism probe's second
    pass adds their gradient, the others' repeat; named, not ``nondeterministic``."""
    X, y = acc_data()
    r = check(acc_learner(style, acc), X, y, steps=3, probe=False)
    assert r.code == "implementation_bug"
    assert r.codes() == ["gradient_accumulation"], r.render()
    assert r.findings[0].params == names
    assert "zero dW/db before each backward pass" in r.findings[0].hint


@pytest.mark.parametrize("acc,names", SUBSETS[:2])
def test_accumulation_seen_over_the_steps_names_the_arrays(acc, names):
    """With a stateful optimizer nothing is run twice: the running sums over the steps name
    the buffers, the others being PyTorch's own gradients."""
    X, y = acc_data()
    r = check(acc_learner("gradients", acc, "adam", 0.01), X, y, steps=3, probe=False)
    assert r.codes() == ["gradient_accumulation"], r.render()
    assert r.findings[0].params == names and "only" in r.findings[0].evidence


@pytest.mark.parametrize("style,opt", [("layers", "sgd"), ("step", "sgd"), ("gradients", "adam")])
def test_layers_that_reset_every_buffer_match(style, opt):
    X, y = acc_data()
    r = check(acc_learner(style, ((), ()), opt, 0.01), X, y, steps=3, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


def test_a_random_draw_on_one_buffer_is_still_nondeterministic():
    """One array that differs between two passes by anything but what it held before."""
    X, y = acc_data()
    a = acc_learner("gradients")
    inner = a.grads
    rng = np.random.default_rng()

    def noisy(X, y):
        g = inner(X, y)
        g[0] = (g[0][0] * rng.uniform(0.5, 1.5), g[0][1])
        return g

    a.grads = noisy
    r = check(a, X, y, steps=2, probe=False)
    assert r.codes()[0] == "nondeterministic" and "gradient_accumulation" not in r.codes()


# -- 3a. updated_weights_used, non-fused (W2 updated, then dW1 through the new W2) ----------
@pytest.mark.parametrize("config", [0, 1])
@pytest.mark.parametrize("style", ["layers", "layer_grads", "script"])
def test_backprop_through_the_updated_layer_is_named(style, config):
    X, y = late_data(config)
    r = check(late_learner(style, True, config), X, y, steps=3, probe=False)
    assert r.code == "implementation_bug"
    assert r.codes() == ["updated_weights_used"], r.render()
    f = r.findings[0]
    assert set(f.params) == {"layers[0].W", "layers[0].b"} or set(f.params) == {"W1", "b1"}
    assert "before updating any weights" in f.hint


@pytest.mark.parametrize("config", [0, 1])
def test_backprop_through_the_updated_layer_under_adam_is_named(config):
    """A step that hides its gradients under Adam: the post-step weights follow Adam fed with
    the gradients carried back through the updated W2."""
    X, y = late_data(config)
    r = check(adam_late_learner(True, config), X, y, steps=3, probe=False)
    assert r.codes() == ["updated_weights_used"], r.render()
    assert set(r.findings[0].params) == {"W1", "b1"}


@pytest.mark.parametrize("config", [0, 1])
@pytest.mark.parametrize("style", ["layers", "layer_grads", "script", "adam"])
def test_backprop_before_the_update_matches(style, config):
    X, y = late_data(config)
    a = adam_late_learner(False, config) if style == "adam" else late_learner(style, False, config)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


# -- 3b-d. Adam departures named as general (combinable, fitted) variants ------------------
CONFIGS = [(8, 0.01), (5, 0.05)]  # (H, lr) of a 2-H-2 tanh regression with random biases
NAMED = {
    "v_nobc": ("bias correction on m only", "divide v by 1 - b2^t"),
    "eps4": ("eps = 0.0001 where 1e-08 is declared", "use the declared eps = 1e-08"),
    "b2_bc": (
        "beta2 = 0.99 in v's bias correction",
        "use the same beta2 (0.999) in v's bias correction",
    ),
}


@pytest.mark.parametrize("H,lr", CONFIGS)
@pytest.mark.parametrize("style", ["gradients", "loss", "step"])
@pytest.mark.parametrize("bug", list(NAMED))
def test_adam_departures_are_named_with_their_fix(bug, style, H, lr):
    X, y = plain_data()
    a = adam_learner(style, bug, d=2, H=H, lr=lr, zero_bias=False)
    r = check(a, X, y, steps=5, probe=False)
    assert r.code == "implementation_bug"
    assert r.codes() == ["optimizer_update_mismatch"], r.render()
    label, fix = NAMED[bug]
    assert label in r.findings[0].evidence and fix in r.findings[0].hint, r.render()
    assert "departures together" not in r.findings[0].evidence  # one part, not a combination


@pytest.mark.parametrize("H,lr", CONFIGS)
@pytest.mark.parametrize("style", ["gradients", "loss", "step"])
def test_the_textbook_adam_twin_matches(style, H, lr):
    X, y = plain_data()
    r = check(adam_learner(style, d=2, H=H, lr=lr, zero_bias=False), X, y, steps=5, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


@pytest.mark.parametrize("style", ["gradients", "step"])
def test_fitted_departures_do_not_claim_other_bugs(style):
    """lr off by 1e-3 relative is a constant factor on the step (not a beta2 in the
    correction, which bends the ratio step by step); beta1 wrong in the average itself is a
    consistently wrong beta1 (fitted, issue 11 B3), not a bias-correction beta or an eps; a
    missing root is no fitted departure."""
    X, y = plain_data()
    for bug, want in (
        ("lr", "c times"),
        ("beta1", "beta1 = 0.8 where 0.9 is declared"),
        ("nosqrt", "v_hat where its square root belongs"),
    ):
        r = check(adam_learner(style, bug, d=2, zero_bias=False), X, y, steps=5, probe=False)
        assert r.code == "implementation_bug"
        assert want in r.findings[0].evidence, r.render()
        assert (
            "bias correction" not in r.findings[0].evidence
            and "eps =" not in r.findings[0].evidence
        )


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_a_bias_bug_hidden_at_step_1_by_symmetry_shows_at_step_2(style):
    """db = 0 exactly at step 1, so averaging it instead of summing is invisible there, and
    its allowance is a full step; at step 2 the biases have moved, db is a real number and
    its allowance shrinks back to round-off: the bug shows at step 2 (each gradient is judged
    on its own scale, its floor capped by its round-off, as in the engine)."""
    X, Y = odd_data()
    r = check(adam_learner(style, "bias_mean"), X, Y, steps=10, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert min(x.step for x in r.records if not x.passed) == 2


@pytest.mark.parametrize("style", ["step", "loss"])
def test_float32_adam_on_odd_symmetric_data(style):
    """A float32 learner: its round-off allowance is float32's, and the oracle judges each
    element by it; the correct one matches, a missing root is caught."""
    X, Y = odd_data()
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    r = check(adam_learner(style, dtype="float32"), X32, Y32, steps=10, probe=False)
    assert r.code == "match" and r.findings == (), r.render()
    bad = adam_learner(style, "nosqrt", dtype="float32")
    assert check(bad, X32, Y32, steps=10, probe=False).code == "implementation_bug"
