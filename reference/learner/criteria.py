"""How the training probe judges "the model fits the data": by what the targets are.

Class targets are judged by accuracy, every sample right: integer labels (cross_entropy, nll)
and one-hot rows by the argmax of each output row; 0/1 targets, under any output (an
identity output under mse too: Adaline's classifier, review s19b), by the side of the midpoint
(0.5; 0 for logits under a binary cross-entropy) each output falls on, and -1/+1 targets under
a tanh or identity output by the side of 0; two other levels within [-1, 1] symmetric about
0.5 or 0 (0.01/0.99, 0.1/0.9, -0.9/0.9, over 2 rows or more) as classes too, by the argmax of
a one-hot or the midpoint. Other targets are
regression, judged by R^2 = 1 - SSE / SST >= 0.95 (with several outputs the mean of each one's
R^2), or, when the targets are constant (SST = 0), by the relative loss SSE / sum y^2 <= 0.05.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnparity.scratch import Spec, target_kind

R2_FIT = 0.95
REL_FIT = 0.05
BOUNDED = ("sigmoid", "softmax", "tanh")


@dataclass(frozen=True)
class Criterion:
    """``fits(out)`` on the whole data set; ``score(out)`` says what was reached."""

    text: str
    fits: Callable[[np.ndarray], bool]
    score: Callable[[np.ndarray], str]
    value: Callable[[np.ndarray], float] | None = None  # the share classified, or R^2


def criterion(spec: Spec, y: np.ndarray) -> Criterion:
    """The fit criterion for targets ``y`` (as the twin takes them) under ``spec``."""
    n = len(y)
    last = spec.activations[-1].name
    kind = target_kind(spec)
    if kind == "class":
        return _argmax(y, n, "accuracy: the argmax of each output row is the class label")
    y = np.asarray(y, dtype=np.float64).reshape(n, -1)
    binary = y.size > 0 and bool(np.isin(y, (0.0, 1.0)).all())
    if binary and y.shape[1] > 1 and bool((y.sum(1) == 1).all()):
        return _argmax(y.argmax(1), n, "accuracy: the argmax of each output row is the one-hot 1")
    if binary:  # 0/1 labels are classes under any output (Adaline's identity and mse too)
        return _threshold(y, n, 0.0 if last == "identity" and kind == "probability" else 0.5)
    signs = y.size > 0 and bool(np.isin(y, (-1.0, 1.0)).all()) and np.unique(y).size == 2
    if signs and last in ("tanh", "identity", "softsign", "hardtanh"):  # -1/+1 labels
        return _threshold((y > 0).astype(np.float64), n, 0.0, "-1/+1")
    levels = np.unique(y)
    if _soft_classes(levels, n):
        return _soft(y, levels, n, last == "identity" and kind == "probability")
    return _regression(y)


def _soft_classes(levels: np.ndarray, n: int) -> bool:
    """Two target levels that encode classes: symmetric about 0.5 (0.01/0.99, 0.1/0.9) or 0
    (-0.9/0.9), over 2 rows or more (review s53 F4: 0.3/0.6 is a regression, and Mazur's one
    sample at 0.01/0.99 is regressed onto its targets, its argmax right before training)."""
    if levels.size != 2 or n < 2:
        return False
    lo, hi = float(levels[0]), float(levels[1])
    return -1 <= lo and hi <= 1 and (abs(lo + hi - 1) < 1e-9 or abs(lo + hi) < 1e-9)


def _soft(y: np.ndarray, levels: np.ndarray, n: int, logits: bool) -> Criterion:
    """Two target levels within [-1, 1] are a class encoding (Rashid's 0.01/0.99, LeCun's
    0.1/0.9): one high level per row is a one-hot (argmax), else each output is judged by the
    side of the midpoint (its logit under a binary cross-entropy on logits) it falls on."""
    lo, hi = float(levels[0]), float(levels[1])
    high = y == hi
    said = f"{lo:g}/{hi:g}"
    if y.shape[1] > 1 and bool((high.sum(1) == 1).all()):
        return _argmax(
            high.argmax(1), n, f"accuracy: the argmax of each output row is its {said} high target"
        )
    mid = (lo + hi) / 2
    cut = float(np.log(mid / (1 - mid))) if logits and 0 < mid < 1 else mid
    return _threshold(high.astype(np.float64), n, cut, said)


def _argmax(labels: np.ndarray, n: int, text: str) -> Criterion:
    labels = np.asarray(labels).reshape(-1)

    def right(out: np.ndarray) -> int:
        return int((np.asarray(out).reshape(n, -1).argmax(1) == labels).sum())

    return Criterion(
        text,
        lambda out: right(out) == n,
        lambda out: f"{right(out)}/{n} classified",
        lambda out: right(out) / n,
    )


def _threshold(y: np.ndarray, n: int, cut: float, labels: str = "0/1") -> Criterion:
    def right(out: np.ndarray) -> int:
        o = np.asarray(out, dtype=np.float64).reshape(y.shape)
        right = np.where(y > 0.5, o > cut, o < cut)  # exactly at the cut is no answer
        return int(right.all(axis=1).sum())

    return Criterion(
        f"accuracy: every output on the side of {cut:g} its {labels} target is on",
        lambda out: right(out) == n,
        lambda out: f"{right(out)}/{n} classified",
        lambda out: right(out) / n,
    )


def _regression(y: np.ndarray) -> Criterion:
    sst = float(((y - y.mean(0)) ** 2).sum())
    s0 = float((y * y).sum())

    def sse(out: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(((np.asarray(out, dtype=np.float64).reshape(y.shape) - y) ** 2).sum())

    if sst > 0 and y.shape[1] > 1:
        return _per_output(y)
    if sst > 0:

        def r2(out: np.ndarray) -> float:
            return 1 - sse(out) / sst

        return Criterion(
            f"R^2 >= {R2_FIT:g} (regression targets)",
            lambda out: r2(out) >= R2_FIT,
            lambda out: f"R^2 = {r2(out):.3f}",
            r2,
        )

    def rel(out: np.ndarray) -> float:
        return sse(out) / s0 if s0 > 0 else sse(out)

    return Criterion(
        f"relative loss SSE / sum y^2 <= {REL_FIT:g} (constant targets)",
        lambda out: rel(out) <= REL_FIT,
        lambda out: f"relative loss {rel(out):.3g}",
    )


def _per_output(y: np.ndarray) -> Criterion:
    """Several regression outputs: every output's own R^2 (a constant output's 1 - SSE / sum
    y^2) held to the bar, as each would be alone. One R^2 pooled over the outputs is the
    largest output's alone (5 (x0 + x1) beside x0 x1 pooled 0.993 where a linear network fits
    the product to 0.004: review s22b), and their mean lets many easy outputs carry one that
    is not learned (23 linear outputs beside x0 x1: a mean of 0.965 over a lowest of 0.155,
    review s23b F3)."""
    d = y.shape[1]
    sst = ((y - y.mean(0)) ** 2).sum(0)
    den = np.where(sst > 0, sst, np.maximum((y * y).sum(0), 1.0))

    def each(out: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            o = np.asarray(out, dtype=np.float64).reshape(y.shape)
            return 1 - ((o - y) ** 2).sum(0) / den

    def r2(out: np.ndarray) -> float:
        rs = each(out)
        return float(rs.min()) if not np.isnan(rs).any() else float("nan")

    def said(out: np.ndarray) -> str:
        rs = each(out)
        j = int(np.nanargmin(rs)) if np.isfinite(rs).any() else 0
        low = f"R^2 = {rs[j]:.3f} at the lowest of {d} outputs"
        return f"{low} (output {j}; their mean {rs.mean():.3f})"

    return Criterion(
        f"R^2 >= {R2_FIT:g} at every output (regression targets)",
        lambda out: r2(out) >= R2_FIT,
        said,
        r2,
    )
