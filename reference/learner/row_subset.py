"""A step that computes on some of the rows it is handed: a loop over the mini-batches that
returns after the first (``return loss`` indented one level too deep), or a loop over the
samples that starts at 1 (``for i in range(1, N)``) or stops one short. Asked of a first failing
step whose findings name nothing (an unexplained gradient, a loss that parts): the learner's
gradients (and loss, where given) are PyTorch's on the batch's first k rows, or on its last
n - k, times one constant (1 for a mean over those rows, k/n for their sum over n), at every
gradient (review s59b F6: both were a loss_mismatch about axes and clips)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .codec import canonical_key
from .factors import proportion
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference

MAX_ROWS = 256  # 2 n reference passes at most
COS = 1 - 1e-9
UNNAMED = ("unexplained_mismatch", "loss_mismatch", "one_sample_gradient")


def row_subset(found: list[Finding], history: list, ref: Reference, X: np.ndarray,
               y: np.ndarray, codec: Codec, start: int, atol: float) -> list[Finding]:  # fmt: skip
    """``found`` with its unnamed findings at ``start`` replaced by one ``rows_not_used``,
    where one run of consecutive rows reproduces every gradient; else ``found``."""
    if not found or any(f.code not in UNNAMED or f.step != start for f in found):
        return found
    obs = history[start - 1][0]
    rows = list(obs.rows)
    n = len(rows)
    if obs.grads is None or n < 3 or n > MAX_ROWS:
        return found
    for lo, hi in [(0, k) for k in range(n - 1, 1, -1)] + [(j, n) for j in range(1, n - 1)]:
        sub = rows[lo:hi]
        rs = ref.run(obs.params, X[sub], y[sub])
        c = _common(obs.grads, rs.grads, atol)
        if c is None or not any(abs(c - v) <= 1e-6 * v for v in (1.0, len(sub) / n)):
            continue
        if obs.loss is not None and not any(
            abs(obs.loss - v * rs.loss) <= 1e-6 * max(abs(obs.loss), 1e-300)
            for v in (1.0, len(sub) / n)
        ):
            continue
        which = f"first {hi}" if lo == 0 else f"last {n - lo}"
        skipped = (
            (f"row {hi} never reaches" if hi == n - 1 else f"rows {hi}-{n - 1} never reach")
            if lo == 0
            else ("row 0 never reaches" if lo == 1 else f"rows 0-{lo - 1} never reach")
        )
        how = "mean over them" if abs(c - 1) <= 1e-6 else f"their sum over all {n}"
        return [
            Finding(
                "rows_not_used",
                codec.labels(sorted(obs.grads, key=canonical_key)),
                None,
                start,
                f"at step {start} your gradients"
                + (" and loss" if obs.loss is not None else "")
                + f" are PyTorch's on the batch's {which} rows alone ({how}), not on all {n}: "
                f"{skipped} them (a return inside the loop over the mini-batches, "
                "a loop over the samples that starts at 1 or stops one short)",
                "use every row you are handed: loop over all of them (range(N), or X[i:i + "
                "batch] up to len(X)) and return after the loop",
            )
        ]
    return found


def _common(G: dict, E: dict, atol: float) -> float | None:
    """One c with every G[k] = c E[k] (cosine 1, within ``atol`` of the largest), else None."""
    cs = []
    for k, g in G.items():
        e = E.get(k)
        pc = proportion(g, e) if e is not None else None
        if pc is None or pc[1] < COS:
            if e is not None and not np.any(g) and not np.any(e):
                continue  # (both 0: no evidence either way)
            return None
        cs.append(pc[0])
    if not cs or max(cs) - min(cs) > 1e-6 * max(abs(max(cs)), 1e-300):
        return None
    c = cs[0]
    top = max(max(float(np.abs(g).max(initial=0.0)) for g in G.values()), 1e-300)
    if any(float(np.abs(np.asarray(g) - c * np.asarray(E[k])).max(initial=0.0)) > atol * top
           for k, g in G.items() if k in E):  # fmt: skip
        return None
    return c
