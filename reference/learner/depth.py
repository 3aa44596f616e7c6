"""Before ``capacity`` ("add units, layers or biases") is claimed: would more of them help?

Three networks where they cannot, each said in place of ``capacity`` (review s19b, s30b):
- ``ill_conditioned``: every layer is linear under a squared error, and least squares on X
  fits: the network can represent the data; ill-conditioned inputs slow gradient descent;
- ``linear_network``: every hidden layer's activation is the identity, so the network is one
  linear map of its input whatever its width or depth (XOR with identity hidden units);
- ``vanishing_gradients``: at the start the first layer's weight gradient is less than
  ``VANISHED`` of the largest layer's (RMS per weight), in a network of three layers or more:
  each layer's derivative and weights shrink the gradient on its way down (ten sigmoid layers
  take 1e-7 of it to layer 1), so the lower layers barely train, and more layers make it
  worse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnparity.scratch import Spec

from .result import Finding
from .torch_side import RefStep

VANISHED = 1e-4
LINEAR = ("identity",)
SQUARED = ("mse", "half_sse", "sse")


def depth_reading(
    spec: Spec, rs0: RefStep, run: str, label: Callable[[str], str], X: Any = None,
    y: Any = None, fits: Callable[[np.ndarray], bool] | None = None,
) -> Finding | None:  # fmt: skip
    """``ill_conditioned``, ``linear_network`` or ``vanishing_gradients`` (see the module)
    in place of ``capacity`` for the twin's state ``rs0`` at the learner's weights; ``run``:
    what the runs reached; ``label``: a canonical name as the learner's; ``X``, ``y``,
    ``fits``: the data and the fit criterion, for a linear network's least squares. None
    where none holds."""
    acts = [a.name for a in spec.activations]
    L = spec.n_layers
    if fits is not None and (slow := _ill_conditioned(spec, acts, X, y, fits, run)):
        return slow
    if L >= 2 and all(a in LINEAR for a in acts[:-1]):
        return Finding(
            "linear_network",
            (),
            None,
            None,
            f"{run}; every hidden layer's activation is {acts[0]}, so your network computes "
            "one linear function of its input (a product of matrices is a matrix), whatever "
            "its width or depth",
            "put a nonlinear activation (tanh, relu) in the hidden layers: more units or "
            "layers cannot help a linear network",
            "limitation",
        )
    if L < 3:
        return None
    rms = [_rms(rs0.grads.get(f"W{l}")) for l in range(1, L + 1)]
    top = max(rms)
    if not top > 0 or rms[0] >= VANISHED * top:
        return None
    k = int(np.argmax(rms)) + 1
    return Finding(
        "vanishing_gradients",
        (label("W1"),),
        1,
        None,
        f"{run}; at the start the gradient of {label('W1')} is {rms[0]:.2g} (RMS per weight) "
        f"against {top:.2g} for {label(f'W{k}')}: each of the {L - 1} layers above layer 1 "
        "shrinks it on its way down (its activation's derivative and its weights), so the "
        "lower layers barely train",
        "use fewer layers, or tanh/relu hidden layers with Xavier/He initialisation (or "
        "batch normalisation): more layers make it worse",
        "limitation",
    )


def _ill_conditioned(
    spec: Spec, acts: list[str], X: Any, y: Any, fits: Callable, run: str
) -> Finding | None:
    """``ill_conditioned``: every layer is linear and the loss a squared error, and the best
    affine map of X (least squares) meets the criterion that gradient descent did not reach:
    the network can represent the data; the inputs' conditioning slows the descent."""
    if X is None or not all(a in LINEAR for a in acts) or spec.loss.name not in SQUARED:
        return None
    A = np.asarray(X, np.float64).reshape(len(X), -1)
    A = np.hstack([A, np.ones((len(A), 1))]) if spec.bias else A
    Y = np.asarray(y, np.float64).reshape(len(A), -1)
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
    if not fits(A @ coef):
        return None
    s = np.linalg.svd(A - A.mean(0) * spec.bias, compute_uv=False)
    s = s[s > s[0] * 1e-12] if s.size and s[0] > 0 else s
    kappa = float(s[0] / s[-1]) ** 2 if s.size else float("inf")
    return Finding(
        "ill_conditioned",
        (),
        None,
        None,
        f"{run}; yet a linear map fits these data (least squares on X meets the criterion): "
        f"the network can represent them, and gradient descent approaches that fit slowly, "
        f"the inputs' covariance having condition number {kappa:.3g} (columns of X nearly "
        "collinear, or of very different scales): its slowest direction takes about that "
        "many steps",
        "standardise the inputs (each column to mean 0, std 1) or decorrelate them (PCA "
        "whitening), or train far longer; the solution itself is np.linalg.lstsq",
        "limitation",
    )


def _rms(g: object) -> float:
    return 0.0 if g is None else float(np.sqrt(np.mean(np.square(np.asarray(g, np.float64)))))
