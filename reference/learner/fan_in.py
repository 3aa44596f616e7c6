"""Each layer's gradients divided by the count of its inputs where the batch's rows belong:
deeplearning.ai's column-major ``m = A_prev.shape[0]`` (the units feeding the layer) for
``A_prev.shape[1]`` (the samples), which reads as one unnamed factor per layer, N / n_(l-1)
(review s45 F4: three scale_factor findings, c = 12, 8.57, 5, one of them called a width)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .codec import canonical_key
from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec


def fan_in_scale(out: list[Finding], history: list, spec: Spec, codec: Codec,
                 start: int) -> list[Finding]:  # fmt: skip
    """``out`` as one ``scale_factor`` finding where every finding in it is a scale factor and
    every layer's gradients at step ``start`` are N / n_(l-1) times PyTorch's (N the batch's
    rows, n_(l-1) the layer's inputs), not one factor for all; else ``out`` itself."""
    if not out or any(f.code != "scale_factor" for f in out) or start > len(history):
        return out
    obs, rs, _ = history[start - 1]
    if obs.grads is None or obs.implied:
        return out
    n, sizes = len(obs.rows), spec.sizes
    cs = []
    for k in sorted(obs.grads, key=canonical_key):
        layer = int(k[1:]) if k[1:].isdigit() else 0
        g, r = np.asarray(obs.grads[k], float), np.asarray(rs.grads[k], float)
        den = float((r * r).sum())
        if not layer or den == 0.0:
            return out
        c = float((g * r).sum()) / den
        if not math.isclose(c, n / sizes[layer - 1], rel_tol=1e-6):
            return out
        cs.append((layer, c))
    if len({round(c, 9) for _, c in cs}) < 2:  # one factor for all: said by the scale
        return out  # readings (a one-layer net's 2 = N / n_in by chance is no such slip)
    said = ", ".join(f"{n}/{sizes[l - 1]} on layer {l}" for l, _ in dict(cs).items())
    return [
        Finding(
            "scale_factor",
            codec.labels(sorted(obs.grads, key=canonical_key)),
            None,
            start,
            f"each layer's gradients are N / n_in times PyTorch's, N = {n} the batch's rows and "
            f"n_in the layer's inputs ({said}): each layer divides by the count of its inputs "
            "where the batch's rows belong",
            "divide by the batch's rows: in column-major code (features x samples), "
            "m = A_prev.shape[1], not A_prev.shape[0] (which counts the units feeding the "
            "layer)",
        )
    ]
