"""Before ``capacity`` is claimed: would more units fit rows the network has not seen?

"Add units, layers or biases" is advice about data a bigger network can learn. On noisy data
(a line with scattered targets, overlapping classes) every network misses the training points
the noise put out of place, and a bigger one only learns them by heart. So on each half of the
rows, a network four times wider (a hidden layer of ``WIDE`` units where there is none) and
one of the learner's own size are trained alike and scored on the other half. Where the wider
one fits its own half better than the learner's network fits all rows, yet on the unseen half
does no better than the one of the learner's size, and clearly below the learner's own score
(``MARGIN``), or where its unseen score is no better than guessing the commonest label
(``_at_chance``), the rest is the data's noise (``noisy_targets``), not the network's size. Asked
only with at least ``MIN_ROWS`` rows and ``PER_INPUT`` rows per input (fewer leave halves that
tell nothing); a run cut short by the check's time, a tie, or a wider network that learns
more on unseen rows says nothing, and ``capacity`` stands (review s17a: the first version,
which compared the wider network's unseen score with the learner's training score, called
noise-free data with 50 rows, or 100 inputs, noisy).
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
PER_INPUT = 50  # rows per input (and bias): fewer leave a half too small to tell noise by
MARGIN = 0.01  # the unseen half's score below the learner's own by at least this (and, for
# accuracy, two rows of the half): closer is no evidence either way
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
    """``noisy_targets`` where, on each half of the rows, the wider network fits the half it
    trains on better than ``reached`` (the learner's network's best on all rows: share
    classified or R^2) but does no better on the other half than a network of the learner's
    own size trained the same way, and ``MARGIN`` below ``reached`` there; None otherwise
    (see the module docstring)."""
    n, d = len(X), int(np.prod(np.shape(X)[1:]))
    if n < max(MIN_ROWS, PER_INPUT * (d + 1)) or spec.layered:
        return None
    big, own_size = wider(spec), _trained_as(spec)
    order = np.random.default_rng(0).permutation(n)
    halves = (order[: n // 2], order[n // 2 :])
    seen, unseen, small = [], [], []
    for a, b in (halves, halves[::-1]):
        own, other = criterion(big, y[a]), criterion(big, y[b])
        if own.value is None or other.value is None:
            return None  # constant targets: no R^2 to compare
        for net, into in ((big, None), (own_size, small)):
            run = train(net, build(net).init_params(seed=0), [(X[a], y[a])], STEPS, own.fits)
            if not run.losses or not np.isfinite(run.losses[-1]):
                return None  # diverged: no evidence
            if not run.fit and run.steps < STEPS:
                return None  # cut short by the check's time: no evidence
            held = other.value(_out(net, run.params, X[b], y[b]))
            if into is None:
                seen.append(own.value(run.out))
                unseen.append(held)
            else:
                into.append(held)
    fit_own, held, same = (float(np.mean(v)) for v in (seen, unseen, small))
    accuracy = criterion(spec, y).text.startswith("accuracy")
    margin = max(MARGIN, 2.0 / (n // 2)) if accuracy else MARGIN
    guess = _at_chance(held, y, n) if accuracy else False
    apart = held <= same and held < reached - margin  # no better than yours, below your fit
    if not (fit_own > reached and (apart or guess)):
        return None
    what = "classifies" if accuracy else "reaches"
    if guess:  # nothing of the inputs predicts the labels: the rows' pairing first
        return Finding(  # (review s59d F2: X and y shuffled with two permutations)
            "noisy_targets",
            (),
            None,
            None,
            f"a network {'-'.join(map(str, big.sizes))} trained with {OPT} on one half of "
            f"your rows, then on the other, classifies the half it did not see no better than "
            f"guessing the commonest label ({_said(held, what)}): your labels carry nothing "
            "of the inputs a network can learn, so what it fits of them it learns by heart",
            "check that each row of X still goes with its own y (X and y shuffled with two "
            "permutations, or one of them alone, pair every row with another's label) and "
            "that the labels are the ones meant; if they are, nothing predicts them from "
            "these inputs, and no network will",
            "limitation",
        )
    return Finding(
        "noisy_targets",
        (),
        None,
        None,
        f"a network {'-'.join(map(str, big.sizes))} trained with {OPT} on one half of your "
        f"rows, then on the other, fits the half it trains on better than yours fits all of "
        f"them ({_said(fit_own, what)} against {_said(reached, what)}), but on the half it "
        f"did not see it {what} {_said(held, what)}, no more than a network of your size "
        f"trained the same way ({_said(same, what)}; means over the two halves): more units "
        "learn the rows your network misses by heart, not a rule that holds for new rows, so "
        "what is left looks like noise in the targets, or detail finer than your rows sample "
        "(a target that changes between neighbouring rows: no network generalises to it)",
        "if the targets are noisy, nothing to fix in the network's size: noise is not fitted "
        "row for row; if they are exact (a function of the inputs), more units can fit them "
        "row for row: try a wider network, or sample the inputs more densely",
        "limitation",
    )


def too_few(X: np.ndarray) -> str:
    """Where ``noisy_targets`` cannot be asked (too few rows for halves that tell), what
    ``capacity``'s fix must also say: noise would look the same (review s19b: 30 rows with
    labels flipped at random were told "add units", which learns the noise by heart)."""
    n, d = len(X), int(np.prod(np.shape(X)[1:]))
    need = max(MIN_ROWS, PER_INPUT * (d + 1))
    if n >= need:
        return ""
    return (
        f"; unless your targets are noisy: with {n} rows (a held-out test of noise needs "
        f"{need}) scattered targets look the same, and a network that fits every row of "
        "them learns the noise by heart, so what you reached may be the best there is"
    )


def few_left(X: np.ndarray, share: float | None) -> str:
    """Where a classifier reaches nearly every row (``share`` of them, 95% or more) and the
    held-out test of noise ran without finding it: the few rows left may be the classes'
    overlap, which no network that generalises fits (review s20a: noisy moons, 197/200 told
    "add units"). '' otherwise (``too_few`` speaks for small data)."""
    n, d = len(X), int(np.prod(np.shape(X)[1:]))
    if share is None or share < 0.95 or n < max(MIN_ROWS, PER_INPUT * (d + 1)):
        return ""
    left = n - round(share * n)
    return (
        f"; only {left} of {n} rows are left: where the classes overlap there, a network that "
        "fits them learns those rows by heart, and what you reached may be the best a network "
        "that generalises gets (a held-out set of your own tells)"
    )


def _trained_as(spec: Spec) -> Spec:
    """``spec`` with a bias in every layer, PyTorch's own init and the wider network's
    optimizer: the learner's size, trained as the wider network is."""
    return spec.replace(bias=True, init="torch_default", bias_init="torch_default", opt=OPT)


def _out(spec: Spec, params: dict, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return Reference(spec, set()).run(params, X, y).out


def _at_chance(held: float, y: np.ndarray, n: int) -> bool:
    """Whether the wider network's unseen-row accuracy (over all ``n`` rows, each unseen once)
    is within two standard errors of guessing the most common label: labels it cannot predict
    from the inputs, whatever the learner's own fit (at chance too, or above it by rows learnt
    by heart). Two chance-level scores, the wider one a row or three above the other, are no
    evidence of capacity (review s28 t07: coin-flip labels told "add units" in 3 of 4 seeds);
    single-label targets only (class indices, or one 0/1 or -1/+1 column)."""
    labels = np.asarray(y).reshape(n, -1)
    if labels.shape[1] != 1:
        return False
    _, counts = np.unique(labels[:, 0], return_counts=True)
    chance = float(counts.max()) / n
    return held <= chance + 2.0 * np.sqrt(chance * (1.0 - chance) / n)


def _said(v: float, what: str) -> str:
    return f"{v:.1%}" if what == "classifies" else f"R^2 = {v:.3f}"


def noisy_run(train: Any, spec: Any, codec: Any, X: Any, y: Any, crit: Any, *runs: Any) -> Any:
    """``noisy_targets`` for a network with every bias (else None: ``no_bias`` is asked
    first), measured against its best run's share classified or R^2."""
    if crit.value is None or codec.frozen or not spec.bias:
        return None
    return noisy_targets(train, spec, X, y, max(crit.value(r.out) for r in runs))
