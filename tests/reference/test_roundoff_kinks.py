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
