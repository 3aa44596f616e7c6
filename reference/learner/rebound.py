"""A network that computes with weights the update no longer reaches: an update that rebinds
the names the adapter reads (Saito's ``params[key] = params[key] - lr * grads[key]``, where
his ``Affine`` layers hold the arrays from ``__init__``), so every step after the first runs
the layers at an earlier step's weights while the arrays checked move on (review s59b F4: said
as "no single-layer forward bug reproduces it")."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .codec import canonical_key
from .result import Finding

MAX_SUBSETS = 64  # sets of arrays held stale, fewest first
COPY = (
    "your forward pass computes with a copy of the weights (taken in __init__ or at the first "
    "call), while your gradients do not",
    "compute the forward pass from the current weights at every call: keep no copy of them "
    "(.copy(), a transposed array saved once)",
)
REBOUND = (
    "the network computes with arrays your update no longer reaches (an update that binds a "
    "new array to the name, params[key] = params[key] - lr * g, while the layers keep the "
    "arrays they were given)",
    "update the weights in place, params[key] -= lr * grads[key] (or W[...] = ...), so the "
    "layers and the arrays you hand the check stay one array",
)

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference


def explain_rebound(history: list, ref: Reference, X: np.ndarray, y: np.ndarray, codec: Codec,
                    first: int, atol: float, rtol: float) -> list[Finding]:  # fmt: skip
    """``stale_weights_used`` where, at step ``first`` (past step 1), the learner's forward
    output (and gradients, where shown) are PyTorch's at the weights some earlier step began
    from, and not at this step's; else []."""
    if first < 2 or len(history) < first:
        return []
    obs = history[first - 1][0]
    if obs.out is None:
        return []
    for j in range(first - 1, 0, -1):  # the nearest earlier weights first
        Pj = history[j - 1][0].params
        if all(np.array_equal(Pj[k], obs.params[k]) for k in obs.params):
            continue  # (the same weights: a step that moved nothing)
        rs = ref.run(Pj, X[obs.rows], y[obs.rows])
        if not _close(obs.out, rs.out, atol, rtol):
            continue
        both = _grads_close(obs.grads, rs.grads, atol, rtol)
        names = codec.labels(sorted(obs.params, key=canonical_key))
        said = (
            f"at step {first} your forward output"
            + (" and gradients are" if obs.grads is not None and both else " is")
            + f" PyTorch's at the weights step {j} began from, not at the arrays your program "
            "holds now: "
        )
        why, fix = COPY if not both else REBOUND  # (not both: the forward alone on a copy)
        return [Finding("stale_weights_used", names, None, first, said + why, fix)]
    return _partly(obs, history[0][0].params, ref, X, y, codec, first, atol, rtol)


def _partly(obs, P1: dict, ref: Reference, X: np.ndarray, y: np.ndarray, codec: Codec,
            first: int, atol: float, rtol: float) -> list[Finding]:  # fmt: skip  # noqa: ANN001
    """``stale_weights_used`` for some of the arrays alone: the forward output (and gradients)
    PyTorch's with those at step 1's values and the others at this step's (review s60a F6: the
    biases rebound while the weights were updated in place; one layer re-synced, not the
    other); the fewest such arrays, at most ``MAX_SUBSETS`` sets tried; else []."""
    from itertools import combinations

    names = [
        k for k in sorted(obs.params, key=canonical_key) if not np.array_equal(P1[k], obs.params[k])
    ]
    sets = [c for r in range(1, len(names)) for c in combinations(names, r)][:MAX_SUBSETS]
    for stale in sets:
        Q = {k: P1[k] if k in stale else v for k, v in obs.params.items()}
        rs = ref.run(Q, X[obs.rows], y[obs.rows])
        if not _close(obs.out, rs.out, atol, rtol) or not _grads_close(obs.grads, rs.grads,
                                                                         atol, rtol):  # fmt: skip
            continue
        said = ", ".join(codec.labels(list(stale)))
        return [
            Finding(
                "stale_weights_used",
                codec.labels(list(stale)),
                None,
                first,
                f"at step {first} your forward output is PyTorch's with {said} as they were at "
                "step 1 and the rest as your program holds them now: the network computes with "
                f"copies of {said} your update no longer reaches (an update that binds a new "
                "array to the name, params[key] = params[key] - lr * g, for those while the "
                "layers keep the arrays they were given)",
                f"update {said} in place, params[key] -= lr * grads[key], as the others",
            )
        ]
    return []


def _grads_close(G: dict | None, E: dict, atol: float, rtol: float) -> bool:
    """Every gradient the learner shows (none: nothing to hold) is the twin's in ``E``."""
    return all(_close(g, E[k], atol, rtol) for k, g in (G or {}).items() if k in E)


def _close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = float(np.abs(b).max(initial=0.0)) or 1.0
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol * scale))
