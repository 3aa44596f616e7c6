"""Data that no model can fit: the same input row with different targets. A training probe
that fails on such data is not the network's capacity; the finding says how many rows
contradict each other and the best any model can reach: for accuracy, the most frequent target
of each group of identical rows; for R^2, the groups' means."""

from __future__ import annotations

import numpy as np

from .criteria import R2_FIT
from .result import Finding

FEW = 0.05  # clashing rows up to this share of the data: the data set's own, not a shuffle


def contradiction(X: np.ndarray, y: np.ndarray, accuracy: bool) -> tuple[Finding, float] | None:
    """(``contradictory_targets``, the best share classified or R^2 any model reaches) when
    identical rows of ``X`` carry different targets and that best misses the criterion (every
    sample right, or R^2 >= R2_FIT)."""
    n = len(X)
    if n < 2:
        return None
    rows = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(n, -1))
    t = np.asarray(y, dtype=np.float64).reshape(n, -1)
    _, group = np.unique(rows, axis=0, return_inverse=True)
    group = group.reshape(-1)
    clash, best, first = 0, 0, None
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        targets, counts = np.unique(t[members], axis=0, return_counts=True)
        best += int(counts.max())
        if len(targets) > 1:
            clash += len(members)
            first = first or (int(members[0]), int(members[np.argmax(
                (t[members] != t[members[0]]).any(1))]))  # fmt: skip
    if not clash:
        return None
    pair = f" (rows {first[0]} and {first[1]}, for one)"
    if accuracy:
        top, bound = best / n, f"at best {best}/{n} classified"
    else:
        means = np.zeros_like(t)
        for g in np.unique(group):
            means[group == g] = t[group == g].mean(0)
        sst = float(((t - t.mean(0)) ** 2).sum())
        r2 = 1.0 - float(((t - means) ** 2).sum()) / sst if sst > 0 else 1.0
        if r2 >= R2_FIT:
            return None
        top, bound = r2, f"at best R^2 = {r2:.3f} (the fit asks {R2_FIT})"
    return Finding(
        "contradictory_targets",
        (),
        None,
        None,
        f"{clash} of your {n} rows repeat an input with another target{pair}: no model can "
        f"fit them, {bound}",
        "identical inputs need identical targets: check how X and y were built (one of them "
        "shuffled or sliced without the other, a row duplicated with another label), or judge "
        "the fit by that bound"
        if clash > FEW * n
        else "these few rows are in your data as built (a point two classes share, such as a "
        "spiral's centre, or a sample repeated with another label): judge the fit by that bound",
        "limitation",
    ), top
