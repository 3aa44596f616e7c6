"""Steps at fresh weights: where the learner's data and weights keep every unit on one side of a
kink for all the steps checked (inputs in [0, 1] and weights from ``rand``: no z below 0 for
600 steps), or keep a layer's gradient at 0 (every weight 0, every ReLU dead), a slip there
never shows; at scratch's initialisation (weights of both signs) it does; so too where a safe
log's clip zeroes a layer's gradient at saturated samples (review s56 F2). Once, after a run in
which everything agreed or parted only by a convention (notes), the first ``FRESH_STEPS``
steps run again from the learner's state before step 1 with fresh weights written in, and into
every copy the learner keeps of them
(``Adapter.write_synced``: a transposed W, heavy-ball's previous weights, an initial copy for
a reset, each equal to a weight or its transpose there). A named derivative bug is said at
once. A sign flip or a factor on a whole parameter is said as a bug where the learner's own
steps left that parameter inert (its gradient nothing beside the largest: a factor on a live
one that agreed is state taken from the starting weights, a norm of W1), it shows at every
fresh step, step 1 replays from the state before it and the data's halves found nothing
(``after_steps``: a step count in itertools.count runs on at fresh weights without being a
bug). Anything else is a note: a constraint on the weights (a max-norm) acts only at weights
the learner never reaches, and a float16 Adam's v underflows at the fresh weights' small
gradients (reviews s53, s56)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nnparity.scratch import build

from .explain import diagnose
from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter
    from .codec import Codec
    from .torch_side import Reference

FRESH_STEPS = 2
SEED = 1
NAMED = (
    "wrong_activation_derivative",
    "wrong_activation",
    "derivative_of_output",
    "updated_weights_used",
    "wrong_cached_activation",
)  # recomputed readings of a whole layer
FACTORS = ("sign_flip", "scale_factor")  # a whole parameter's sign or factor: no state's mark


def fresh_steps(
    adapter: Adapter,
    runner: Runner,
    ref: Reference,
    codec: Codec,
    X: np.ndarray,
    y: np.ndarray,
    batches: list,
    tols: Any,
    run_steps: Callable[..., Any],
    main: Any = None,
) -> list[Finding]:
    """The named finding of ``FRESH_STEPS`` steps from the learner's state before step 1 at
    fresh weights (``run_steps``: the checker's step loop), or none; the learner's state is
    put back either way."""
    if runner.first is None or adapter.style == "forward":
        return []
    Q = build(ref.spec).init_params(seed=SEED)
    Q.update({k: np.zeros_like(Q[k]) for k in codec.frozen})
    now = adapter.keep(pin=True)  # (the run below keeps snapshots of its own)
    try:
        adapter.restore(runner.first)
        adapter.write_synced(Q)  # into each copy the learner keeps of a weight too (review
        # s53, s56 F1: heavy-ball's previous weights, a transposed W, an unused initial copy)
        again = Runner(adapter, runner.X, runner.y)
        again.negate = _negate(runner, main)  # (descent.py's convention, every parameter's)
        run = run_steps(adapter, again, ref, codec, X, y, batches, FRESH_STEPS, 0, tols)
    except (LearnerCrash, ArithmeticError, ValueError):  # nothing to say where it cannot run
        return []
    finally:  # the arrays the learner started from hold their own values again, then its
        adapter.restore(runner.first)  # state after the check's steps is back in place
        adapter.restore(now)
    stop = run.nan_step
    bad = [r for r in run.records if not r.passed and (stop is None or r.step < stop)]
    if run.crash or again.hygiene or not bad:
        return []
    found = diagnose(bad, run.history, ref, codec, X, y, ref.spec, stop, codec.precision)
    if all(f.kind == "note" for f in found):  # a convention (a safe log's clip) again: said
        return []
    named = [f for f in found if f.code in NAMED and f.kind == "bug"]
    parted = sorted({r.tensor for r in bad if r.stage in ("grad", "update")})
    if not named and codec.precision == "float16":
        return []  # (a float16 Adam's v underflows at fresh weights: another eps, no bug)
    inert = set(codec.labels(sorted(_inert(main.history if main else [], ref))))
    factors = [  # on parameters the learner's own steps left inert (review s56 F3: a factor
        f  # on live, agreeing ones is state taken from the starting weights, a norm of W1)
        for f in found
        if f.code in FACTORS and f.kind == "bug" and set(f.params) <= inert
    ]
    said = [
        replace(
            f,
            evidence=f"at fresh weights (PyTorch's default initialisation, seed {SEED}, "
            f"from your program's state before step 1), where your data and weights did not "
            f"go in the steps checked: {f.evidence}",
        )
        for f in named[:1] or factors
    ]
    if named:
        return said
    why = ONCE if max(r.step for r in bad) < FRESH_STEPS else None if factors else UNNAMED
    if why:  # said, not judged
        runner.notes.append(_parted(codec.labels(parted), why))
        return []
    # A sign flip or a factor (review s51 F2: behind units dead, saturated or all zero at the
    # learner's weights) is judged after the probes from the state before step 1 (after_steps),
    # where the state is shown to come back and their findings go first
    runner.fresh_found = said
    return []


ONCE = (
    "at the first fresh step alone, the next agreeing: one step is not judged (a copy of a "
    "weight your program keeps beside it and re-syncs in its update parts so, stale for one "
    "step after fresh weights are written in; a bug in a branch your data and weights never "
    "reach would part at the next step too)"
)
UNNAMED = (
    "and no sign or factor names it: a bug in a branch your data and weights never reach "
    "(a transpose left out, a derivative written wrong), or state or a constraint beside your "
    "weights that acts only there (a max-norm or a clip of the weights), which cannot be told "
    "apart from it"
)


def _negate(runner: Runner, main: Any) -> frozenset[str]:
    """The gradients taken as -dL/dW at fresh weights: the main run's, and every parameter's
    where those are all that moved there (a parameter the learner's weights left inert is
    written in the same convention)."""
    first = main.history[0][0].grads if main and main.history else None
    if not runner.negate or not first:
        return runner.negate
    moving = {k for k, g in first.items() if np.any(np.asarray(g))}
    return frozenset(first) if moving <= runner.negate else runner.negate


def _inert(history: list, ref: Reference) -> list[str]:
    """The parameters whose data gradient was nothing beside the largest one's (1e-8 of it)
    at every step the learner's own weights took: a layer of zero weights, of dead ReLUs or
    saturated tanh, where a sign or a factor could not show. The learner's own gradients where
    it gives them (a safe log's clip zeroes what the twin's exact gradient keeps: review s56
    F2), PyTorch's where it does not, each less its declared L2 term (an L2 moves a weight
    whose data gradient is 0)."""
    out = None
    for obs, rs, _ in history:
        grads = obs.grads if obs.grads is not None else rs.grads
        size = {
            k: float(
                np.abs(np.asarray(g, float) - ref.l2_on(k) * np.asarray(obs.params[k], float)).max(
                    initial=0.0
                )
            )
            for k, g in grads.items()
        }
        top = max(size.values(), default=0.0)
        here = {k for k, v in size.items() if v <= 1e-8 * top}
        out = here if out is None else out & here
    return sorted(out or ())


def _parted(names: tuple[str, ...], why: str) -> Finding:
    return Finding(
        "fresh_weights_mismatch",
        names,
        None,
        None,
        f"at fresh weights (PyTorch's default initialisation, seed {SEED}, from your "
        f"program's state before step 1) your {', '.join(names)} part from PyTorch's, where "
        f"every step on your own weights agreed, {why}",
        "print your gradients beside finite differences at weights of both signs (e.g. "
        "np.random.randn weights), or compute them from the weights themselves",
        "note",
    )
