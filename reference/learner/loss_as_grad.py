"""A loss read as a gradient: a model of two parameters whose gradient function returns
``(loss, dW)``, the bias's gradient forgotten, hands the loss value where db belongs (review
s44 F5: an unexplained c = 5.03 on b, its fix pointing at b's own line)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec


def loss_as_gradient(out: list[Finding], history: list, start: int,
                     codec: Codec) -> list[Finding]:  # fmt: skip
    """``out``, or one finding naming the gradient of one element that is
    the step's loss value (PyTorch's, to 1e-9) where it is not the parameter's gradient."""
    if not out or start > len(history) or all(f.kind != "bug" for f in out):
        return out
    obs, rs, _ = history[start - 1]
    if obs.grads is None or obs.implied or not math.isfinite(rs.loss) or rs.loss == 0:
        return out
    for k, g in obs.grads.items():
        v = np.asarray(g, float)
        if v.size != 1 or math.isclose(float(v.ravel()[0]), float(np.ravel(rs.grads[k])[0])):
            continue
        if math.isclose(float(v.ravel()[0]), rs.loss, rel_tol=1e-9):
            label = codec.label(k)
            return [
                Finding(
                    "unexplained_mismatch",
                    codec.labels(list(obs.grads)),
                    None,
                    start,
                    f"your gradient of {label} ({float(v.ravel()[0]):.6g}) is the loss value at "
                    f"step {start}: your function returns the loss where {label}'s gradient "
                    "belongs, as (loss, dW) does for a model of W and b",
                    "return every parameter's gradient: (loss, [dW, db]) or (loss, {'W': dW, "
                    "'b': db}})",
                )
            ]
    return out
