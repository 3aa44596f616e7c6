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
    return run_probe(ref, codec, P0, X, y, [(X[r], y[r]) for r in batches], n)


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
