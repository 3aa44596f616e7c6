"""A derivative left out of one weight's line: dW_l = a_{l-1}^T dL/da_l where the layer's bias
line keeps f'(z_l), so the bias agrees and the weight does not. Per-weight formulas write each
gradient's chain by hand (Real Python's ``derror_dweights = derror_dprediction *
dlayer1_dweights``, the ``dprediction_dlayer1`` factor kept in the bias's line alone), and the
layer search, which fixes one derivative per layer, leaves it unexplained (review s20a, t25).
Read at the output layer and the one below it, where dL/da is PyTorch's own."""

from __future__ import annotations

from collections.abc import Callable

from .evidence import StepData
from .result import Finding


def weight_line(
    k: str, l: int, L: int, failing: dict[str, int], steps: list[StepData], lab: Callable
) -> Finding | None:
    """``wrong_activation_derivative`` where weight ``k`` of layer ``l`` (its bias agreeing)
    is a_{l-1}^T dL/da_l at every step of ``steps``; None otherwise."""
    b = f"b{l}"
    if k[0] != "W" or b not in steps[0].g or b in failing or l < L - 1:
        return None
    for s in steps:
        da = s.dl_da if l == L else s.dl_dz @ s.P[f"W{L}"].T
        alt = s.a[l - 1].T @ da
        g, ref = s.g[k].double(), s.ref[k].double()
        if alt.shape != g.shape:
            return None
        tol = s.atol[k] + s.rtol * alt.abs()
        if not bool(((g - alt).abs() <= tol).all()) or bool(((ref - alt).abs() <= tol).all()):
            return None
    return Finding(
        "wrong_activation_derivative",
        (lab(k),),
        l,
        failing[k],
        f"{k}: your gradient is a{l - 1}^T dL/da{l}, without the activation's derivative "
        f"f'(z{l}), while {lab(b)}'s line keeps it (it agrees with PyTorch's) at steps "
        f"{steps[0].step}-{steps[-1].step}",
        f"multiply by f'(z{l}) in the weight's line too: dW{l} = a{l - 1}^T (dL/da{l} * "
        f"f'(z{l})), the dz{l} your bias gradient sums",
    )
