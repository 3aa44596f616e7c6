"""A loss value alone non-finite (log(1 - a) of a float32 sigmoid output that reached 1.0)
while the learner's output and gradients agree with PyTorch's: a note beside a match, since
training never reads the value (review s9c: it was `numerical_instability`, with a fix for
the gradient, which was already a - y). A gradient that goes non-finite stays instability."""

from __future__ import annotations

import numpy as np
import pytest
from test_loss_note_digits import bce_learner

from nnparity.reference.learner import check, from_gradients

f32 = np.float32


def _learner(gradient: str):
    """A float32 3-4-1 relu, sigmoid network under BCE whose output saturates to exactly 1.0
    on some samples from the first step; its returned loss is the naive log formula."""
    r = np.random.default_rng(0)
    P = {"W1": (r.normal(size=(3, 4)) * 4).astype(f32), "b1": np.zeros(4, f32),
         "W2": (r.normal(size=(4, 1)) * 8).astype(f32), "b2": np.zeros(1, f32)}  # fmt: skip
    X = (r.normal(size=(16, 3)) * 3).astype(f32)
    y = (r.random((16, 1)) < 0.5).astype(f32)

    def passes(X, y):
        h = np.maximum(X @ P["W1"] + P["b1"], 0)
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        loss = float(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))
        if gradient == "logits":
            dz = (a - y) / f32(len(y))
        else:  # through dL/da = -y/a + (1 - y)/(1 - a): inf where a is 1.0
            dz = (-y / a + (1 - y) / (1 - a)) * a * (1 - a) / f32(len(y))
        dh = dz @ P["W2"].T * (h > 0)
        return loss, [X.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]

    decl = dict(sizes=[3, 4, 1], activations="relu,sigmoid", loss="bce", lr=0.1)
    passes.P = P  # the weights its passes read
    return from_gradients(P, list(P), passes, **decl), X, y, passes


def test_the_learner_saturates_and_its_loss_is_not_finite():
    _, X, y, passes = _learner("logits")
    with np.errstate(all="ignore"):
        loss, grads = passes(X, y)
    assert not np.isfinite(loss) and all(np.isfinite(g).all() for g in grads)


def test_a_loss_value_alone_not_finite_is_a_note_beside_a_match():
    a, X, y, _ = _learner("logits")
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "match", r.render()
    (f,) = [f for f in r.findings if f.code == "loss_value_mismatch"]
    assert f.kind == "note" and f.step == 1
    assert "the value alone is not finite" in f.evidence
    assert "sigmoid output saturated to exactly 0.0" in f.evidence and "log(a)" in f.evidence
    assert "your gradients need no change" in f.hint


def test_a_gradient_through_the_saturated_output_is_still_instability():
    a, X, y, _ = _learner("through_a")
    r = check(a, X, y, steps=3, probe=False)
    assert r.code in ("numerical_instability", "implementation_bug"), r.render()
    assert r.findings[0].code == "nonfinite", r.render()
    # review s19b: at step 1 the saturated output was said as "your backward pass (a 0/0...)"
    assert "sigmoid output saturated to exactly" in r.findings[0].evidence, r.render()
    assert r.findings[0].hint.startswith("take the BCE gradient from the logits"), r.render()


def test_a_log_of_a_negative_argument_is_named_as_a_slip_not_a_saturation():
    """Review s9d: log(a - 1) for log(1 - a) (NaN at every step, with numpy's 'invalid value
    encountered in log') got the saturation advice: compute from the logits, or clip."""
    res = bce_learner(lambda a, y: -np.mean(y * np.log(a) + (1 - y) * np.log(a - 1)))
    assert res.code == "match", res.render()
    (f,) = [f for f in res.findings if f.code == "loss_value_mismatch"]
    assert "log of a negative number" in f.evidence and "log(1 - a)" in f.hint, f
    assert "clip" not in f.hint.split(";")[0] and "logaddexp" not in f.hint


def test_a_backward_pass_dividing_by_a_saturated_output_says_so():
    """Review s19b: gradients alone (no loss value) through dL/da = -y/a + (1 - y)/(1 - a) at
    an output saturated to exactly 0 or 1 at the first step were "your backward pass: a 0/0,
    inf * 0, ..."; the twin's values at the same weights name the saturated output."""
    _, X, y, passes = _learner("through_a")
    P = passes.P
    decl = dict(sizes=[3, 4, 1], activations="relu,sigmoid", loss="bce", lr=0.1)
    grads_only = from_gradients(P, list(P), lambda X, y: passes(X, y)[1], **decl)
    r = check(grads_only, X, y, steps=3, probe=False)
    f = r.findings[0]
    assert f.code == "nonfinite" and "sigmoid output saturated to exactly" in f.evidence, r.render()


@pytest.mark.parametrize("scale", [300.0, 1.0])
def test_a_float16_overflow_names_the_range(scale):
    """Review s19b: a float16 X.T @ dz past 65504 was told "keep the values moderate"."""
    f16 = np.float16
    r = np.random.RandomState(0)
    X = (r.uniform(0.7, 1.3, (8, 2)) * scale).astype(f16)
    y = (X[:, :1] * f16(0.5) + X[:, 1:] * f16(0.25)).astype(f16)
    p = {"W": np.zeros((2, 1), f16), "b": np.zeros(1, f16)}

    def grads(X, y):
        dz = f16(2) * (X @ p["W"] + p["b"] - y) / f16(len(y))
        return {"W": X.T @ dz, "b": dz.sum(axis=0)}

    a = from_gradients(p, ["W", "b"], grads, sizes=[2, 1], activations="identity", loss="mse",
                       lr=1e-6)  # fmt: skip
    res = check(a, X, y, steps=2, probe=False)
    if scale == 1.0:
        assert res.code == "match", res.render()
        return
    assert res.findings[0].code == "nonfinite", res.render()
    assert res.findings[0].hint.startswith("float16 holds nothing above 65504"), res.render()
