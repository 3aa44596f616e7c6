"""Each quantity is judged at the tolerance of the dtype the learner holds it in (review
s10b): one float16 bias among float64 arrays made every tensor float16's (rtol 1e-2, an
absolute floor of 1e-3), so a 1% error in a float64 gradient and a sign-flipped gradient
below 1e-3 passed, while a correct in-place update of the float16 bias was a bug (its storage
rounds). A learner that computes in float16 and returns float64 sums stays at float16's."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss, from_step

f16 = np.float16


class Net:
    """3-8-2 tanh, identity under MSE; ``types`` per array, ``bug`` in dW1, ``cast``: the
    whole computation in float16, the gradients summed into float64."""

    def __init__(self, types, bug=None, cast=False, w2=0.5):
        r = np.random.RandomState(0)
        P = {"W1": r.randn(3, 8) * 0.5, "b1": np.zeros(8), "W2": r.randn(8, 2) * w2,
             "b2": np.zeros(2)}  # fmt: skip
        self.P = {k: v.astype(t) for (k, v), t in zip(P.items(), types, strict=True)}
        self.bug, self.cast = bug, cast

    def loss(self, X, y=None):
        p = self.P
        if self.cast:  # True: float16; or the dtype named
            X = X.astype(f16 if self.cast is True else self.cast)
        h = np.tanh(X @ p["W1"] + p["b1"])
        if self.bug == "cache16":  # a float16 cache of a float64 activation (correct code)
            h = h.astype(f16)
        out = h @ p["W2"] + p["b2"]
        if y is None:
            return out
        if self.bug == "target":  # the loss and its gradients from targets a little off
            y = y * 1.0002
        d = 2 * (out - y) / (out.size - (self.bug == "n-1") * out.shape[1])
        dh = d @ p["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        if self.bug == "one_term":  # one element of dW1 without the first sample's term
            g["W1"][0, 0] -= float(X[0, 0] * dh[0, 0])
        if self.bug == "deriv":  # tanh' slipped in dW1 alone (as in a net without b1)
            g["W1"] = X.T @ (d @ p["W2"].T * (1 - 0.9999 * h**2))
        g = {k: np.asarray(v, np.float64) for k, v in g.items()}  # float64 sums
        g["W1"] = {"x1.01": 1.01, "flip": -1.0}.get(self.bug, 1.0) * g["W1"]
        return float(np.mean((out - y) ** 2)), g

    def step(self, X, y):
        _, g = self.loss(X, y)
        for k, v in self.P.items():
            wd = 5e-4 * v if self.bug == "wd" and k[0] == "W" else 0.0  # undeclared decay
            v -= 0.5 * (g[k] + wd)  # in place: a float16 array keeps its dtype, rounded


def _check(types, bug=None, cast=False, own_step=True, scale=1.0, w2=0.5, steps=4, fwd=True,
           rows=32, style="loss"):  # fmt: skip
    r = np.random.RandomState(1)
    X = r.randn(rows, 3)
    y = np.stack([np.sin(X[:, 0]) + 0.5 * X[:, 1], X[:, 2] * X[:, 0]], axis=1) * scale
    n = Net(types, bug, cast, w2)
    decl = dict(sizes=[3, 8, 2], activations="tanh,identity", loss="mse", lr=0.5)
    if style == "step":  # the gradients hidden: implied from the weights
        a = from_step(n.P, list(n.P), n.step, forward=n.loss if fwd else None, **decl)
    else:
        a = from_loss(n.P, n.loss, forward=n.loss if fwd else None,
                      step=n.step if own_step else None, **decl)  # fmt: skip
    return check(a, X, y, steps=4, watch=steps, probe=False)


ONE_F16_BIAS = [np.float64, np.float64, np.float64, f16]


@pytest.mark.parametrize("own_step", [True, False])
def test_a_float16_bias_beside_float64_does_not_excuse_a_1_percent_error(own_step):
    r = _check(ONE_F16_BIAS, "x1.01", own_step=own_step)
    assert r.code == "implementation_bug", r.render()
    assert "judged at the tolerance of the dtype it is held in" in r.spec


def test_a_small_sign_flipped_gradient_beside_a_float16_bias_is_a_bug():
    r = _check(ONE_F16_BIAS, "flip", own_step=False, scale=1e-3, w2=5e-4)
    assert r.code == "implementation_bug", r.render()


@pytest.mark.parametrize("types", [ONE_F16_BIAS, [f16] * 4, [np.float32, np.float64] * 2])
@pytest.mark.parametrize("own_step", [True, False])
def test_correct_mixed_precision_learners_match(types, own_step):
    """Their narrow weights round on storage: in their own update (one float16 spacing
    allowed) and where the check writes the declared update into them."""
    r = _check(types, own_step=own_step)
    assert r.code == "match", r.render()


def test_a_learner_computing_in_float16_is_judged_at_float16s_tolerance():
    r = _check([f16] * 4, cast=True)
    assert r.code == "match", r.render()
    assert "within float16's round-off" in r.spec
    assert _check([f16] * 4, "flip", cast=True).code == "implementation_bug"


def test_a_correct_update_of_a_tiny_float16_bias_is_no_optimizer_bug():
    """Review s10b: b2 near float16's subnormals moved by 2.7e-8 less than the float64 step
    (its storage's rounding): optimizer_update_mismatch on correct code."""
    r = _check(ONE_F16_BIAS, scale=1e-3, w2=5e-4, steps=300)
    assert r.code == "match", r.render()


@pytest.mark.parametrize(("bug", "fwd", "rows", "style"),
                         [("n-1", False, 128, "loss"), ("wd", True, 32, "step")])  # fmt: skip
def test_bugs_in_every_float64_quantity_beside_a_float16_bias_are_found(bug, fwd, rows, style):
    """Review s10c: judging the whole learner narrow where no wider quantity agreed let a
    1/(N - 1) in every gradient pass (no forward shown), and an undeclared weight decay in
    a step: a float16 bias alone rounds nothing but itself."""
    r = _check(ONE_F16_BIAS, bug, fwd=fwd, rows=rows, style=style)
    assert r.code == "implementation_bug", r.render()


@pytest.mark.parametrize(
    ("types", "cast", "bug"),
    [([np.float32, np.float64] * 2, np.float32, None), ([f16] * 4, False, "cache16")],
)
def test_narrow_round_off_in_wider_arrays_passes(types, cast, bug):
    """Review s10c: float32 weights with float64 biases and the data cast to float32, and a
    float16 program caching an activation in float16: correct, and false alarms when each
    float64 gradient was held to float64's tolerance."""
    r = _check(types, bug, cast=cast)
    assert r.code == "match", r.render()


@pytest.mark.parametrize("types", [[np.float32, np.float64] * 2, [np.float32] + [np.float64] * 3])
def test_a_small_derivative_slip_is_no_narrow_round_off(types):
    """Review s12: float32 W1 beside float64 arrays (W2 promoted by a division, the data
    cast to float32), and tanh' typed as 1 - 0.9999 h^2 in dW1: it parts by up to 1.5% of
    itself, with no constant factor. It passed at float32's atol on the terms' scale (max |a|
    max |y|, far above a small gradient's); a wider gradient is now allowed what an all-float32
    program's would be, its round-off envelope at float32's round-off."""
    assert _check(types, cast=np.float32, w2=0.05, steps=30).code == "match"
    r = _check(types, "deriv", cast=np.float32, w2=0.05, steps=30)
    assert r.code == "implementation_bug", r.render()


@pytest.mark.parametrize("w1", [f16, np.float32])
def test_a_narrow_weight_beside_wide_data_excuses_nothing(w1):
    """Review s12b: a float16 (or float32) W1 among float64 arrays and float64 data computes
    nothing narrow (a float16 weight times float64 data is float64's), so its round-off
    excuses nothing: one element of dW1 without one sample's term (5% off) matched."""
    types = [w1, np.float64, np.float64, np.float64]
    assert _check(types).code == "match"
    r = _check(types, "one_term")
    assert r.code == "implementation_bug", r.render()


def test_failing_gradients_are_never_a_match_beside_a_loss_note():
    """Review s12b: float64 arrays and one float16 bias, the loss and every gradient off by
    up to 0.3% (the targets scaled by 1.0002 inside the loss): every hypothesis fitted within
    float16's looser tolerance, so no gradient finding was made, and the loss's note ("the
    gradients agree") turned the verdict into match."""
    r = _check(ONE_F16_BIAS, "target", scale=3.0)
    assert r.code == "implementation_bug", r.render()
    assert _check(ONE_F16_BIAS, scale=3.0).code == "match"


def test_float16_weights_overflowing_in_their_own_update_are_instability():
    """Review s10c: float16 weights past 65504 in the learner's own (correct) update were
    'made in your optimizer's code': the float64 twin stays finite only by its range."""
    r = np.random.RandomState(0)
    P = {"W1": (r.randn(3, 1) * 4).astype(f16), "b1": np.zeros(1, f16)}
    X = (r.randn(16, 3) * 30).astype(np.float64)
    y = X @ np.array([[1.0], [2.0], [3.0]])

    def grads(X, y):
        d = 2 * (X @ P["W1"] + P["b1"] - y) / len(y)
        return [X.T @ d, d.sum(0)]

    def step(X, y):
        for p, g in zip(P.values(), grads(X, y), strict=True):
            p -= 1.0 * g

    a = from_loss(P, lambda X, y: (0.0, grads(X, y)), step=step, sizes=[3, 1],
                  activations="identity", loss="mse", lr=1.0)  # fmt: skip
    with np.errstate(all="ignore"):
        res = check(a, X, y, steps=6, watch=0, probe=False)
    assert res.code == "numerical_instability", res.render()
