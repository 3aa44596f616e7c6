"""Two readings of a failed training run that put it on the declaration, not the network: a
start too small to train from (``small_start``), and a gradient clip that binds at every step
(``clip_binds``: review s30b F7, clip_grad_norm=1e-3 told "raise the learning rate to 10")."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nnparity.scratch import Spec, build

from .conventions import lr_of
from .remedies import at_lr
from .result import Finding
from .torch_side import Reference
from .unit_states import init_small

if TYPE_CHECKING:
    from .codec import Codec


def clip_binds(
    ref: Reference, codec: Codec, P0: dict, batches: list, steps: int, fits: Any, score: Any,
    reached: str, seconds: float | None, end: dict | None = None, X: Any = None, y: Any = None,
) -> Finding | None:  # fmt: skip
    """``clip_strength`` where the declared run, which does not fit, still clips where it
    ended (``end``: its weights; the gradient on all of ``X``, ``y`` beyond the bound) and fits
    with the declared clip left out (the same optimizer, lr, steps and batches); else None (a
    clip that bound early alone and sent the run elsewhere is no clip too strong: review
    s30c F10)."""
    value, norm = ref.clip
    if not (value or norm):
        return None
    if end is not None and X is not None:
        g = [np.asarray(v, np.float64).ravel() for v in ref.run(end, X, y).grads.values()]
        size = float(np.linalg.norm(np.concatenate(g))) if norm else max(np.abs(v).max() for v in g)
        if size <= (norm or value):
            return None
    free = Reference(ref.spec, codec.frozen, ref.l2s, ref.softmax_out, ref.l2_biases)
    run = free.train(ref.spec, P0, batches, steps, codec.frozen, fits, seconds=seconds)
    if not run.fit:
        return None
    what = f"clip_grad_norm={norm:g}" if norm else f"clip_grad_value={value:g}"
    return Finding(
        "clip_strength",
        (),
        None,
        None,
        f"PyTorch with {ref.spec.opt} and the declared {what} from your weights: {reached}; "
        f"without the clip the same run fits in {run.steps} steps: {score(run.out)}",
        f"the clip still binds where the run ends and shrinks its updates: loosen "
        f"{what.split('=')[0]} "
        "(a bound near the gradients' size, e.g. 1 to 5 for a norm) or leave it out",
        "limitation",
    )


def small_start(
    train: Any, spec: Spec, P0: dict, batches: list, steps: int, fits: Any, score: Any,
    codec: Codec,
) -> list[Finding]:  # fmt: skip
    """``init_scale`` (too small, ``init_small``) where the declared run, which does not fit
    from the learner's weights, fits from a fresh initialisation (PyTorch's default); else []
    (review s22b: deeplearning.ai's randn * 0.01 in a 4-layer net was "dead_units")."""
    small = init_small(spec, P0, codec)
    if not small:
        return []
    fresh = build(spec).init_params(seed=0)
    fresh.update({n: np.zeros_like(fresh[n]) for n in codec.frozen})
    lr = lr_of(spec.opt)
    tries = [(spec, 4 * steps)]  # as ``slower`` tried from the learner's weights
    tries += [(at_lr(spec, lr * c), steps) for c in (10, 100) if lr]
    for run_spec, n in tries:
        again = train(run_spec, fresh, batches, n, fits)
        if again.fit:
            break
    else:
        return []
    more = (
        f"; from a fresh random initialisation (PyTorch's default) {run_spec.opt} fits in "
        f"{again.steps} steps: {score(again.out)}, where from yours neither it nor the declared "
        "run on for four budgets does"
    )
    return _merged(small, more)


def _merged(small: list[Finding], more: str) -> list[Finding]:
    """The ``init_scale`` findings of every layer too small as one, with ``more`` said."""
    said = "; ".join(f.evidence.removeprefix("at the start: ") for f in small)
    return [
        replace(
            small[0],
            params=tuple(p for f in small for p in f.params),
            evidence=f"at the start: {said}{more}",
            hint="re-initialise: " + small[0].hint,
        )
    ]


def scaled(fresh: Finding, small: list[Finding]) -> list[Finding]:
    """``init_scale`` in place of ``local_minimum`` (``fresh``: a fresh start fits) where the
    learner's weights are far below 1/sqrt(fan_in): a start that small is the cause said, not
    a basin the seed fell in (review s32 F4: deeplearning.ai's randn * 0.01 in a 5-layer net
    was told "another seed", which at that scale fits no better)."""
    if not small:
        return []
    more = "; " + fresh.evidence.replace("from your initial weights neither run fits; ", "")
    return _merged(small, f"{more}, where from yours it does not")
