"""Where the checker runs the twin's training: the training probe's budget and call, and
whether the twin trained from the learner's first weights stays finite."""

from __future__ import annotations

from typing import Any

import numpy as np

from .codec import Codec
from .conventions import lr_of
from .limitations import probe as run_probe
from .remedies import LOWERS, at_lr
from .result import Finding, Training
from .torch_side import Reference

Array = np.ndarray

PROBE_EPOCHS = 250  # passes over the data the declared optimizer gets in the probe
PROBE_MIN, PROBE_MAX = 1000, 10000


def probe_budget(n_batches: int) -> int:
    """Steps of the training probe: ``PROBE_EPOCHS`` passes over the data, at least
    ``PROBE_MIN`` and at most ``PROBE_MAX`` steps (it stops as soon as the model fits)."""
    return min(PROBE_MAX, max(PROBE_MIN, PROBE_EPOCHS * n_batches))


def probe_from(
    ref: Reference, codec: Codec, P0: dict, X: Array, y: Array, batches: list, steps: int | None
) -> tuple[Training, list[Finding]]:
    """The training probe (``limitations.probe``) on ``batches``, for ``steps`` steps or the
    budget of ``probe_budget``."""
    n = steps if steps is not None else probe_budget(len(batches))
    data = [(X[r], y[r]) for r in batches]
    X, y = in_batch_order(X, y, batches)
    return run_probe(ref, codec, P0, X, y, data, n)


def in_batch_order(X: Array, y: Array, batches: list) -> tuple[Array, Array]:
    """X and y with their rows in the order the batches hand them: the probe scores its
    output on every row (the batches' rows, concatenated) against y, so y must follow that
    order. The batches are reordered where a short last batch comes second or a long pass is
    spread (``row_order``); scored against y in the data's own order, each output met another
    row's target (review s20a: "42/100 classified" at a loss of 0.15)."""
    order = np.concatenate([np.asarray(r) for r in batches]) if batches else np.zeros(0, int)
    if len(order) != len(X) or np.array_equal(order, np.arange(len(X))):
        return X, y
    return X[order], y[order]


def twin_free(
    ref: Reference,
    codec: Codec,
    P0: dict,
    X: Array,
    y: Array,
    batches: list,
    n: int,
) -> tuple[bool, str, float | None]:
    """(whether the twin trained from the learner's initial weights stays finite for ``n``
    steps, a sentence saying so, and where it does not, the first lr of lr / 10, / 100, ...
    at which the same run stays finite for ``CALM`` times as long, or None)."""
    data = [(X[r], y[r]) for r in batches]
    run = ref.train(ref.spec, P0, data, n, codec.frozen, lambda out: False)
    if _finite(run):
        return (
            True,
            f"PyTorch trained from your initial weights stays finite through step {n}",
            None,
        )
    bad = next((i + 1 for i, v in enumerate(run.losses) if not np.isfinite(v)), n)
    said = f"PyTorch trained from your initial weights also turns non-finite (step {bad})"
    lr, span = lr_of(ref.spec.opt), min(max(CALM * n, 300), 2000)
    for c in LOWERS if lr else ():  # (review s32 F12: "lower the learning rate", to what?)
        slow = ref.train(at_lr(ref.spec, lr / c), P0, data, span, codec.frozen, lambda out: False)
        if _finite(slow):
            return False, f"{said}; at lr = {lr / c:g} it stays finite through step {span}", lr / c
    if lr:  # (review s33 F6: raw house prices, where no lr down to lr / 1e4 stays finite)
        said += f"; at lr / 10 to lr / {LOWERS[-1]:,.0f} it turns non-finite too"
    return False, said, 0.0 if lr else None


CALM = 4  # a lower lr is said where it keeps the run finite this many times as long


def _finite(run: Any) -> bool:
    return all(np.isfinite(v) for v in run.losses) and all(
        np.isfinite(p).all() for p in run.params.values()
    )
