"""The forward pass on more rows than a step's batch: when every step hands one row (per-sample
SGD), a forward that mixes rows (a softmax normalised over the whole batch, a mean over the
batch) cannot show. Once, at step 1, the learner's ``forward`` runs on up to ``ROWS`` rows of
the data at once and is held to the twin there; a forward that only takes one row is left
alone (it raised, or returned another shape)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nnparity.scratch import build

from .forward import explain_forward
from .output_form import clip_eps
from .result import Finding
from .runner import LearnerCrash

if TYPE_CHECKING:
    from .runner import Runner
    from .torch_side import Reference

ROWS = 64


def _out_at(runner: Runner, P: dict, at: dict, X: np.ndarray) -> np.ndarray | None:
    """The learner's forward on ``X`` at the weights ``at`` (its state and ``P`` put back
    after), or None where it raises."""
    a = runner.a
    kept = a.keep()  # a cache the call leaves must not reach the next step
    try:
        a.write(at)
        return runner.forward(1, X)
    except LearnerCrash:
        return None
    finally:
        a.restore(kept)
        a.write(P)


def _forward_finding(
    runner: Runner, ref: Reference, P: dict, at: dict, X: np.ndarray, y: np.ndarray, tol: Any,
    hyp: tuple[float, float], own: np.ndarray | None = None,
) -> Finding | None:  # fmt: skip
    """The forward finding of the learner's forward on ``X`` at the weights ``at``, or None
    where it agrees, raises, returns another shape, or returns ``own`` (its output at its
    own weights: a forward that does not read the weights written, a copy kept, is no
    activation's reading: review s59b F10's sigmoid(-z) echoed the output layer negated)."""
    out = _out_at(runner, P, at, X)
    if out is None or (own is not None and np.shape(out) == np.shape(own)
                       and np.array_equal(out, own)):  # fmt: skip
        return None
    want = ref.run(at, X, y).out
    scale = float(np.abs(want).max(initial=0.0))
    if out.shape != want.shape or bool(
        (np.abs(out - want) <= tol.atol * scale + tol.rtol * np.abs(want)).all()
    ):
        return None
    bounded = ref.softmax_out or ref.spec.activations[-1].name in ("sigmoid", "softmax")
    if bounded and clip_eps(out, want):
        return None  # a safe log's clip of the output (``output_form``), no forward bug
    return explain_forward(ref, at, X, out, hyp[1], hyp[0], runner.codec, 1)[0]


def wide_forward(
    runner: Runner, ref: Reference, P: dict, X: np.ndarray, y: np.ndarray, tol: Any,
    hyp: tuple[float, float],
) -> list[Finding]:  # fmt: skip
    """The forward finding on ``min(len(X), ROWS)`` rows at once, or none when it agrees or
    the learner's forward takes one row only (its state is put back either way). ``tol``: the
    check's tolerance; ``hyp``: the hypotheses' (rtol, atol)."""
    n = min(len(X), ROWS)
    if runner.a.forward is None or n < 2:
        return []
    found = _forward_finding(runner, ref, P, P, X[:n], y[:n], tol, hyp)
    if found is None:
        return []
    said = f"on {n} rows at once (every step hands your forward one row): {found.evidence}"
    return [replace(found, evidence=said)]


def fresh_forward(
    runner: Runner, ref: Reference, P: dict, X: np.ndarray, y: np.ndarray, tol: Any,
    hyp: tuple[float, float], frozen: set[str],
) -> list[Finding]:  # fmt: skip
    """The forward finding at other weights, once at step 1 (the learner's own with the output
    layer negated, then fresh ones: scratch's initializer, seeds 1-3):
    where the data keep every unit on one side of a kink (all outputs positive, so a ReLU on
    an output declared identity is identity there), the learner's weights never show a wrong
    activation; fresh ones do (as ``from_forward`` compares at several weight settings). Only
    a named forward bug is said (a state the learner keeps beside its weights, such as a
    transposed copy its own update re-syncs, would part here without being a bug)."""
    if runner.a.forward is None or runner.a.style == "forward":
        return []
    L = ref.spec.n_layers
    flipped = {k: -v if k in (f"W{L}", f"b{L}") else v for k, v in P.items()}
    settings = [("your weights with the output layer negated", flipped)]
    for seed in (1, 2, 3):
        Q = build(ref.spec).init_params(seed=seed)
        Q.update({k: np.zeros_like(Q[k]) for k in frozen})
        settings.append((f"fresh weights (PyTorch's default initialisation, seed {seed})", Q))
    n = min(len(X), ROWS)
    own = _out_at(runner, P, P, X[:n])
    for what, Q in settings:  # each reaches the other side of a kink the data never reach
        found = _forward_finding(runner, ref, P, Q, X[:n], y[:n], tol, hyp, own)
        if found is not None and found.code not in ("unexplained_mismatch", "layer_mismatch"):
            said = f"at {what}, where your data and weights never go: {found.evidence}"
            return [replace(found, evidence=said)]
    return []
