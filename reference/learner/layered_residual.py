"""Two more explanations of a layered learner's loss and gradients that part from the twin's,
tried after the named layer variants (``layered_judge``):

- ``regularization_mismatch``: the residual ``G - G_twin`` of the parameters that part is one
  factor ``c`` times the parameters themselves (``c * P``, cosine above ``RESIDUAL_COS``): an
  L2 penalty ``c/2 ||P||^2`` the declaration does not hold (on biases, gamma, beta; or an
  undeclared ``l2=``), or, with ``c = -l2``, the declared one left out of those gradients.
- ``names_swapped``: two arrays of equal shape read in each other's place (gamma and beta,
  W and b of a square layer...): the twin at the swapped weights gives the learner's loss and
  its gradients swapped back.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from .result import Finding

Array = np.ndarray
RESIDUAL_COS = 0.9999  # the residual points along the parameters this closely
MAX_PAIRS = 12


def regularization(decl: Any, core: list, G: dict, T: Any, P: dict, learner: Any, k: int):  # noqa: ANN201
    """``regularization_mismatch`` when the residual is c * P over the parts that part."""
    names = [r.tensor for r in core if r.stage == "grad"]
    if not names:
        return None
    R = np.concatenate([(G[n] - T.grads[n]).ravel() for n in names])
    V = np.concatenate([np.asarray(P[n], np.float64).ravel() for n in names])
    rr, vv = float(R @ R), float(V @ V)
    if rr == 0 or vv == 0:
        return None
    c = float(R @ V) / vv
    if abs(float(R @ V)) / np.sqrt(rr * vv) < RESIDUAL_COS:
        return None
    kinds = sorted({n.rstrip("0123456789") for n in names})
    paths = tuple(_path(learner, n) for n in names)
    if c < 0:  # the declared penalty left out of some gradients (review s52 F3g: one layer)
        if not (decl.l2 and kinds == ["W"] and abs(c + decl.l2) <= 1e-3 * decl.l2):
            return None
        return Finding(
            "regularization_mismatch",
            paths,
            None,
            k,
            f"your gradients of {', '.join(paths[:6])} are PyTorch's minus {-c:.4g} x the "
            f"weights themselves: the declared L2 term (l2={decl.l2:g}) is missing from them, "
            "while the other weights' gradients hold it",
            f"add l2 * W to these gradients too (dW += {decl.l2:g} * W), as your loss's "
            "l2/2 ||W||^2 over every weight asks",
        )
    if kinds == ["W"]:
        what = f"an L2 penalty {c:.4g}/2 ||W||^2 on the weights beyond the declared l2={decl.l2:g}"
        fix = f"declare l2={decl.l2 + c:.4g} if that is your reg, or drop the extra penalty"
    else:
        what = f"an L2 penalty {c:.4g}/2 ||P||^2 also on {', '.join(k for k in kinds if k != 'W')}"
        fix = "apply L2 to the weights W only (CS231n's reg: not to biases, gamma, beta)"
    return Finding(
        "regularization_mismatch",
        paths,
        None,
        k,
        f"your gradients minus PyTorch's are {c:.4g} x the parameters themselves "
        f"({', '.join(paths[:6])}): {what}",
        fix,
    )


def swapped(
    ref: Any, core: list, G: dict, P: dict, B: dict, X: Array, y: Array, masks, loss, learner, k
):  # noqa: ANN001, ANN201
    """``names_swapped`` when reading two equal-shaped arrays the other way round gives the
    learner's loss and gradients."""
    from .layered_judge import _reproduces

    pairs = [(a, b) for a, b in combinations(list(P), 2) if np.shape(P[a]) == np.shape(P[b])][
        :MAX_PAIRS
    ]
    for a, b in pairs:
        P2 = {**P, a: P[b], b: P[a]}
        t = ref.run(P2, B, X, y, masks)
        if _reproduces(t, loss, {**G, a: G[b], b: G[a]}):
            pa, pb = _path(learner, a), _path(learner, b)
            return Finding(
                "names_swapped",
                (pa, pb),
                None,
                k,
                f"{pa} and {pb} are read in each other's place: PyTorch with the two swapped "
                "reproduces your loss and every gradient",
                f"list {pb} where {pa} is (the spec's order: {', '.join(learner.names)})",
            )
    return None


def _path(learner: Any, name: str) -> str:
    return dict(zip(learner.names, learner.a.paths, strict=True)).get(name, name)
