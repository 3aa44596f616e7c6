"""Before ``capacity`` ("add units, layers or biases") is claimed: would more of them help?

Two networks where they cannot, each said in place of ``capacity`` (review s19b):
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

import numpy as np

from nnparity.scratch import Spec

from .result import Finding
from .torch_side import RefStep

VANISHED = 1e-4
LINEAR = ("identity",)


def depth_reading(
    spec: Spec, rs0: RefStep, run: str, label: Callable[[str], str]
) -> Finding | None:
    """``linear_network`` or ``vanishing_gradients`` (see the module) in place of ``capacity``
    for the twin's state ``rs0`` at the learner's weights; ``run``: what the runs reached;
    ``label``: a canonical name as the learner's. None where neither holds."""
    acts = [a.name for a in spec.activations]
    L = spec.n_layers
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


def _rms(g: object) -> float:
    return 0.0 if g is None else float(np.sqrt(np.mean(np.square(np.asarray(g, np.float64)))))
