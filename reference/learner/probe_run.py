"""Where the checker runs the twin's training: the training probe's budget and call, and
whether the twin trained from the learner's first weights stays finite."""

from __future__ import annotations

import numpy as np

from .codec import Codec
from .limitations import probe as run_probe
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
) -> tuple[bool, str]:
    """(whether the twin trained from the learner's initial weights stays finite for ``n``
    steps, a sentence saying so)."""
    run = ref.train(
        ref.spec, P0, [(X[r], y[r]) for r in batches], n, codec.frozen, lambda out: False
    )
    ok = all(np.isfinite(v) for v in run.losses) and all(
        np.isfinite(p).all() for p in run.params.values()
    )
    if ok:
        return True, f"PyTorch trained from your initial weights stays finite through step {n}"
    bad = next((i + 1 for i, v in enumerate(run.losses) if not np.isfinite(v)), n)
    return False, f"PyTorch trained from your initial weights also turns non-finite (step {bad})"
