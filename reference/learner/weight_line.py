"""A derivative left out of one weight's line: dW_l = a_{l-1}^T dL/da_l where the layer's bias
line keeps f'(z_l), so the bias agrees and the weight does not; or out of the bias's line
alone, db_l = sum dL/da_l (summed before a ReLU's mask: review s28 b06). Per-weight formulas
write each gradient's chain by hand (Real Python's ``derror_dweights = derror_dprediction *
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
    is a_{l-1}^T dL/da_l at every step of ``steps``, or bias ``k`` (its weight agreeing) is
    dL/da_l summed over the batch; None otherwise."""
    other = f"{'b' if k[0] == 'W' else 'W'}{l}"
    if k[0] not in "Wb" or other not in steps[0].g or other in failing or l < L - 1:
        return None
    for s in steps:
        da = s.dl_da if l == L else s.dl_dz @ s.P[f"W{L}"].T
        alt = s.a[l - 1].T @ da if k[0] == "W" else da.sum(0)
        g, ref = s.g[k].double(), s.ref[k].double()
        if alt.shape != g.shape:
            return None
        tol = s.atol[k] + s.rtol * alt.abs()
        if not bool(((g - alt).abs() <= tol).all()) or bool(((ref - alt).abs() <= tol).all()):
            return None
    if k[0] == "b":
        return Finding(
            "wrong_activation_derivative",
            (lab(k),),
            l,
            failing[k],
            f"{k}: your gradient is dL/da{l} summed over the batch, without the activation's "
            f"derivative f'(z{l}), while {lab(other)}'s line keeps it (it agrees with "
            f"PyTorch's) at steps {steps[0].step}-{steps[-1].step}",
            f"sum dz{l} = dL/da{l} * f'(z{l}) for the bias, the dz{l} your weight's gradient "
            f"takes: db{l} = dz{l}.sum(axis=0), after the derivative (a ReLU's mask included)",
        )
    b = other
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


def bias_as_weight(
    k: str, l: int, failing: dict[str, int], steps: list[StepData], lab: Callable
) -> Finding | None:
    """``wrong_cached_activation`` where bias ``k`` of layer ``l`` (its weight agreeing) is, at
    every step, one row of PyTorch's weight gradient: dz times one input a_{l-1}[:, j] where the
    bias's input is 1 (a scalar tutorial's weight line copied for the bias, Victor Zhou's
    ``d_ypred_d_b3 = h1 * deriv_sigmoid(sum_o1)``: review s28 f07); None otherwise."""
    w = f"W{l}"
    if k[0] != "b" or w not in steps[0].ref or w in failing:
        return None
    rows = steps[0].ref[w].shape[0] if steps[0].ref[w].ndim == 2 else 0
    for j in range(rows):
        fits, told = True, False
        for s in steps:
            g, alt = s.g[k].double().reshape(-1), s.ref[w][j].double().reshape(-1)
            tol = s.atol[k] + s.rtol * alt.abs()
            ref = s.ref[k].double().reshape(-1)
            if g.shape != alt.shape or not bool(((g - alt).abs() <= tol).all()):
                fits = False
                break
            told = told or not bool(((ref - alt).abs() <= tol).all())  # input j not all 1
        if fits and told:
            return Finding(
                "wrong_cached_activation",
                (lab(k),),
                l,
                failing[k],
                f"{k}: your gradient is {lab(w)}'s row {j}, dz{l} times input {j} of layer {l} "
                f"(a{l - 1}[:, {j}]), where the bias's input is 1, at steps "
                f"{steps[0].step}-{steps[-1].step}: a weight's line copied for the bias",
                f"db{l} = dz{l}.sum(axis=0): the bias's derivative of z is 1, not an input",
            )
    return None
