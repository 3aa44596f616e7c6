"""The round-off envelope at a kink: where a ReLU input lies within round-off of 0, the two
sides' inputs may fall either side of it and their derivatives differ by the jump; the
gradients' allowance covers that flip there, and only there (review s5: a correct float32
learner summing with np.einsum parted from PyTorch at one such entry)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.roundoff import Envelope
from nnparity.scratch import Spec, build


def _flipped(spec: Spec, P: dict, X: np.ndarray, y: np.ndarray, at: tuple[int, int]) -> dict:
    """Scratch's gradients with relu'(z1) flipped at entry ``at`` of the hidden layer."""
    net = build(spec)
    out, cache = net._forward(P, X)
    dout = net.loss_fn.grad(out, y)
    a0, z1, a1 = cache[0]
    _, z2, _ = cache[1]
    dz2 = net.acts[1].vjp(z2, out, dout)
    da1 = dz2 @ P["W2"].T
    mask = (z1 > 0).astype(float)
    mask[at] = 1.0 - mask[at]
    dz1 = da1 * mask
    return {"W1": a0.T @ dz1, "b1": dz1.sum(0)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_flip_at_an_input_within_round_off_of_the_kink_is_allowed_and_elsewhere_not(dtype):
    spec = Spec.parse(f"3-4-2 relu,identity loss=mse dtype={dtype} batch=4 seed=0")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    P = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
         "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}  # fmt: skip
    P["b1"][0] = -float(X[0] @ P["W1"][:, 0]) * (1 + 1e-17)  # z1[0, 0]: round-off of 0
    bounds = Envelope(spec).grads(P, X, y)
    exact = build(spec).loss_and_grads(P, X, y)[1]
    z1 = X @ P["W1"] + P["b1"]
    far = max(((i, j) for i in range(4) for j in range(4)), key=lambda ij: abs(z1[ij]))
    for at, allowed in (((0, 0), True), (far, False)):
        g = _flipped(spec, P, X, y, at)
        moved = np.abs(g["W1"] - exact["W1"]) + 0.0
        within = bool((moved <= bounds[("grad", "W1")]).all())
        assert within == allowed, (at, moved.max(), bounds[("grad", "W1")].max())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_dead_row_above_a_zero_bias_grants_no_flip_at_the_next_kink(dtype):
    """Review s11: a sample whose first-layer ReLUs are all dead has a1 = 0 exactly, so with
    b2 = 0 its z2 is exactly 0 on both sides. The ReLU's own rounding (4u |z|) gave that 0 an
    envelope, the kink a whole derivative flip, and db2 an allowance larger than its value: a
    bias gradient left at zeros said match. A ReLU flat at 0 within reach rounds nothing."""
    spec = Spec.parse(f"3-4-4-2 relu,relu,identity loss=mse dtype={dtype} batch=4 seed=0")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    P = {"W1": np.abs(rng.normal(size=(3, 4))), "b1": rng.normal(size=4),
         "W2": rng.normal(size=(4, 4)), "b2": np.zeros(4), "W3": rng.normal(size=(4, 2)),
         "b3": rng.normal(size=2)}  # fmt: skip
    X[0] = -3.0  # with W1 > 0: every unit of row 0 below 0, the other rows mixed
    z1 = X @ P["W1"] + P["b1"]
    assert (z1[0] < -0.5).all()  # row 0: dead at layer 1, so z2[0] = b2 = 0 exactly
    bounds = Envelope(spec).grads(P, X, y)
    exact = build(spec).loss_and_grads(P, X, y)[1]
    a1 = np.maximum(z1, 0)
    z2 = a1 @ P["W2"]
    assert (z2[0] == 0).all()
    dz3 = (np.maximum(z2, 0) @ P["W3"] + P["b3"] - y) * 2 / y.size
    da2 = dz3 @ P["W3"].T  # what a flip of relu'(z2[0]) would add to db2
    assert (np.abs(da2[0]) > bounds[("grad", "b2")]).all(), (da2[0], bounds[("grad", "b2")])
    assert np.abs(exact["b2"]).max() > 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_l1s_sign_may_flip_at_an_output_within_round_off_of_its_target_and_elsewhere_not(dtype):
    """l1's dL/da = sign(a - y) / N jumps at a = y: where an output lies within round-off of
    its target, the two sides' signs may differ (CI, 2026-12-03: a free-mode float32 l1 run
    parted at such an entry, a false alarm); an output far from its target grants nothing."""
    spec = Spec.parse(f"3-4-2 tanh,identity loss=l1 dtype={dtype} batch=4 seed=0")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(4, 3))
    P = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
         "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}  # fmt: skip
    h = np.tanh(X @ P["W1"] + P["b1"])
    out = h @ P["W2"] + P["b2"]
    y = out + rng.choice([-1.0, 1.0], size=out.shape)
    y[0, 0] = out[0, 0] * (1 + 1e-17)  # output [0, 0]: round-off of its target
    bounds = Envelope(spec).grads(P, X, y)
    d = np.sign(out - y) / out.size
    far = (1, 1)
    for at, allowed in (((0, 0), True), (far, False)):
        flipped = d.copy()
        flipped[at] = -flipped[at] if flipped[at] else 1.0 / out.size
        moved = np.abs(h.T @ (flipped - d))
        within = bool((moved <= bounds[("grad", "W2")] + 0.0).all())
        assert within == allowed, (at, moved.max(), bounds[("grad", "W2")].max())
