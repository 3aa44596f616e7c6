"""Before ``capacity`` is claimed: would more units fit rows the network has not seen?

"Add units, layers or biases" is advice about data a bigger network can learn. On noisy data
(a line with scattered targets, overlapping classes) every network misses the training points
the noise put out of place, and a bigger one only learns them by heart. So a network four
times wider (a hidden layer of ``WIDE`` units where there is none) is trained on each half of
the rows and scored on the other half. Where it does no better on those unseen rows than the
learner's network on the rows it trained on, though it fits its own half better, the rest is
the data's noise (``noisy_targets``), not the network's size. Asked only with at least
``MIN_ROWS`` rows (fewer say nothing of the rest). A bigger network that cannot fit its own
half either says nothing, and ``capacity`` stands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnparity.scratch import Spec, build

from .criteria import criterion
from .result import Finding
from .torch_side import Reference

MIN_ROWS = 50
WIDE = 32  # the least width of the bigger network's hidden layers
OPT = "adam(lr=0.01)"
STEPS = 2000


def wider(spec: Spec) -> Spec:
    """``spec`` with each hidden layer four times wider (at least ``WIDE`` units), or a
    ``WIDE``-unit tanh layer where there is none; a bias in every layer, PyTorch's own init."""
    sizes, acts = list(spec.sizes), [a.name for a in spec.activations]
    if len(sizes) == 2:
        sizes, acts = [sizes[0], WIDE, sizes[1]], ["tanh", acts[0]]
    else:
        sizes = [sizes[0], *(max(4 * s, WIDE) for s in sizes[1:-1]), sizes[-1]]
    return spec.replace(sizes=tuple(sizes), activations=",".join(acts), bias=True,
                        init="torch_default", bias_init="torch_default", opt=OPT)  # fmt: skip


def noisy_targets(
    train: Callable[..., Any], spec: Spec, X: np.ndarray, y: np.ndarray, reached: float
) -> Finding | None:
    """``noisy_targets`` where the wider network, trained on each half of the rows, scores
    below ``reached`` (the learner's network's best on all rows: share classified or R^2) on
    the other half, and above it on its own; None otherwise (see the module docstring)."""
    n = len(X)
    if n < MIN_ROWS or spec.layered:
        return None
    big = wider(spec)
    order = np.random.default_rng(0).permutation(n)
    halves = (order[: n // 2], order[n // 2 :])
    seen, unseen = [], []
    for a, b in (halves, halves[::-1]):
        own, other = criterion(big, y[a]), criterion(big, y[b])
        if own.value is None or other.value is None:
            return None  # constant targets: no R^2 to compare
        run = train(big, build(big).init_params(seed=0), [(X[a], y[a])], STEPS, own.fits)
        if not run.losses or not np.isfinite(run.losses[-1]):
            return None  # cut short by the check's time, or diverged: no evidence
        seen.append(own.value(run.out))
        unseen.append(other.value(_out(big, run.params, X[b], y[b])))
    fit_own, held = float(np.mean(seen)), float(np.mean(unseen))
    if not (fit_own > reached > held):
        return None
    what = "classifies" if criterion(spec, y).text.startswith("accuracy") else "reaches"
    return Finding(
        "noisy_targets",
        (),
        None,
        None,
        f"a network {'-'.join(map(str, big.sizes))} trained with {OPT} on one half of your "
        f"rows, then on the other, fits the half it trains on better than yours fits all of "
        f"them ({_said(fit_own, what)} against {_said(reached, what)}), but on the half it "
        f"did not see it {what} {_said(held, what)} (means over the two halves): more units "
        "learn the rows your network misses by heart, not a rule that holds for new rows, so "
        "what is left looks like noise in the targets",
        "nothing to fix in the network: noisy data is not fitted row for row; judge the "
        "network on rows it did not train on (if the targets should be exact, check them)",
        "limitation",
    )


def _out(spec: Spec, params: dict, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return Reference(spec, set()).run(params, X, y).out


def _said(v: float, what: str) -> str:
    return f"{v:.1%}" if what == "classifies" else f"R^2 = {v:.3f}"
