"""A step at saturated outputs: a program whose backward divides by a or 1 - a (the chain
rule written through BCE's -y/a + (1 - y)/(1 - a)) agrees with PyTorch until its sigmoid
rounds to exactly 1, which a long run on separable data reaches (review s30b F1: NaN at step
2027, 300 steps watched, said `match`). Once, after a run in which everything agreed, one step
runs from the learner's state before step 1 at its starting weights with the last layer
scaled so that the largest output pre-activation on the data is ``SAT_Z`` (sigmoid(40) is
1.0 in float64); a step that goes NaN or Inf there where PyTorch's stays finite is said: a
numerical instability where PyTorch's own training from the learner's weights reaches such
outputs (``REACH``), a note where it does not (review s30c F3: data whose optimum is z = 0)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .instability import first_nonfinite, nonfinite_finding
from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter
    from .codec import Codec
    from .torch_side import Reference

SAT_Z = 40.0  # sigmoid(40) is 1.0 in float64 and narrower (and in float64 arithmetic on them)
REACH = {"float64": 36.7, "float32": 16.7, "float16": 8.4}  # where sigmoid(z) first rounds to 1
REACH_LOW = {"float64": 708.0, "float32": 87.0, "float16": 11.0}  # where exp(-z) overflows: a = 0
SOFT_OP = (
    "likely operation: a target's probability rounded to exactly 0, so -y/p (the chain rule "
    "through the softmax) or log p divides by zero"
)
SOFT_FIX = (
    "take dL/dz = p - y from the logits (softmax and cross-entropy together), or clip p to "
    "[1e-12, 1] before dividing by it"
)
SOFT_EXP_OP = (
    "likely operation: exp of the logits overflows to inf (a softmax without each row's "
    "maximum subtracted first), and inf / inf is NaN"
)
SOFT_EXP_FIX = (
    "subtract each row's maximum before the exp, e = np.exp(z - z.max(axis=1, keepdims=True)): "
    "the same probabilities, and no exp above 1"
)
SIG_EXP_OP = (
    "likely operation: exp of the logits overflows to inf (a sigmoid written exp(z) / (1 + "
    "exp(z))), and inf / inf is NaN"
)
SIG_EXP_FIX = "write the sigmoid 1 / (1 + np.exp(-z)): exp(-z) of a large z is 0, not inf"
GAP = {"float64": 750.0, "float32": 105.0, "float16": 18.0}  # exp(-gap) is 0: p rounds to 0
REACH_STEPS = 3000  # PyTorch's training from the learner's weights, to see whether it gets there


def saturated_step(*args: Any) -> Finding | None:
    """The scaled output's finding (``scaled_step``), else the raised bias's
    (``shifted_step``): the same arguments."""
    return scaled_step(*args) or shifted_step(*args)


def scaled_step(
    adapter: Adapter,
    runner: Runner,
    ref: Reference,
    codec: Codec,
    P0: dict[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    batches: list,
    tols: Any,
    run_steps: Callable[..., Any],
) -> Finding | None:
    """The ``nonfinite_at_saturation`` finding of one step at saturated outputs (see the
    module), or None; the learner's state is put back either way."""
    spec = ref.spec
    if runner.first is None or adapter.style == "forward" or spec.layered:
        return None
    L = len(spec.sizes) - 1
    rows = batches[0]  # the step run below takes the first batch: scaled by its own outputs
    zL = ref.run(P0, X[rows], y[rows]).z[-1].numpy()  # (review s50 F5: by all the data's, a
    # first batch of minibatches missed the largest and never saturated)
    top, low = float(zL.max(initial=0.0)), float(zL.min(initial=0.0))
    if not (np.isfinite(top) and np.isfinite(low)) or top <= 0.0 and low >= 0.0:
        return None
    dtype = codec.precision if codec.precision in REACH else "float64"
    soft = (spec.activations[-1].name == "softmax" or ref.softmax_out) and zL.ndim == 2
    soft = soft and zL.shape[1] > 1  # (under cross_entropy the twin's softmax is the loss's)
    if soft:  # a row's target logit GAP below its largest: that probability rounds to 0
        wide = _behind(zL, y[rows]) or float((zL.max(1) - zL.min(1)).max(initial=0.0))
        s = GAP[dtype] / wide if wide > 0.0 else 0.0
    else:
        s = SAT_Z / top if top > 0.0 else SAT_Z / low  # the largest output at +40 (s30c F1:
    if 0.0 <= s <= 1.0:  # scaling the largest |z| sent every output to -40, unsaturated)
        return None
    Q = {k: v * s if k in (f"W{L}", f"b{L}") else v for k, v in P0.items()}
    one = _one_step(adapter, runner, ref, codec, Q, X, y, batches, tols, run_steps)
    if one is None:
        return None
    obs, rs, what, again = one
    f = nonfinite_finding(obs, what, rs, spec, codec, again.warning, "")
    said = f.evidence.replace(" at step 1 (the first step)", "").rstrip("; ")
    if soft:  # the learner's own division, or an unshifted exp (review s36 7b: dennybritz)
        unshifted = _unshifted(obs, rs, dtype, again.warning)
        op, fix = (SOFT_EXP_OP, SOFT_EXP_FIX) if unshifted else (SOFT_OP, SOFT_FIX)
        said = re.sub(r"likely operation: [^;]*", op, said, count=1)
        f = replace(f, hint=fix)
    data = [(X[r], y[r]) for r in batches]
    trained = ref.train(spec, P0, data, REACH_STEPS, codec.frozen, _never, seconds=5.0)
    # a = 1 from z >= 36.7 (float64); a = 0 only where exp(-z) overflows, z <= -708 (review
    # s34 F2: -99 raised a correct float64 BCE to a bug; s35 F5: float32's is -87)
    z = ref.run(trained.params, X, y).z[-1].numpy()
    top, low = float(z.max(initial=0.0)), float(z.min(initial=0.0))
    lows = low <= -REACH_LOW[dtype] and not soft
    reach = float((z.max(1) - z.min(1)).max(initial=0.0)) if soft else low if lows else top
    limit = GAP[dtype] if soft else REACH[dtype]
    reached = np.isfinite(reach) and (reach >= limit or lows)
    how = (
        f"PyTorch's own training from your weights gets there: its "
        f"{'smallest' if lows else 'largest'} output {'gap' if soft else 'pre-activation'} is "
        f"{reach:.3g} after {trained.steps} steps"
        + (" (where the sigmoid rounds to 0)" if lows else "")
        if reached
        else f"PyTorch's own training from your weights does not get there in {trained.steps} "
        f"steps (its largest output {'gap' if soft else 'pre-activation'} {reach:.3g}): a latent "
        "fault, said as a note"
    )
    return replace(
        f,
        code="nonfinite_at_saturation",
        step=None,
        evidence=f"every step checked agreed, but at your starting weights with the last "
        f"layer scaled x{s:.3g} ("
        + (
            f"one row's logits {GAP[dtype]:g} apart, where softmax rounds the smallest "
            "probability to exactly 0"
            if soft
            else f"the largest output pre-activation {SAT_Z:g}, where a sigmoid rounds to exactly 1"
        )
        + f") {said[0].lower()}{said[1:]}; {how}",
        kind="bug" if reached else "note",
    )


def _one_step(adapter: Adapter, runner: Runner, ref: Reference, codec: Codec, Q: dict,
              X: np.ndarray, y: np.ndarray, batches: list, tols: Any,
              run_steps: Callable[..., Any]) -> tuple | None:  # fmt: skip
    """(obs, the twin's step, what went non-finite, the runner) of one step on the first
    batch from the learner's state before step 1 at the weights ``Q``, where the learner's
    step goes non-finite and PyTorch's stays finite; else None. Its state is put back."""
    now = adapter.keep(pin=True)
    try:
        adapter.restore(runner.first)
        adapter.write(Q)
        again = Runner(adapter, runner.X, runner.y)
        run = run_steps(adapter, again, ref, codec, X, y, batches[:1], 1, 0, tols)
    except (LearnerCrash, ArithmeticError, ValueError):
        return None
    finally:
        adapter.restore(runner.first)
        adapter.restore(now)
    if run.nan_step != 1 or not run.history:
        return None
    obs, rs, _ = run.history[0]
    twin_finite = np.isfinite(rs.loss) and all(np.isfinite(g).all() for g in rs.grads.values())
    what = first_nonfinite(obs, codec, rs)
    return (obs, rs, what, again) if twin_finite and what is not None else None


def shifted_step(adapter: Adapter, runner: Runner, ref: Reference, codec: Codec,
                 P0: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, batches: list,
                 tols: Any, run_steps: Callable[..., Any]) -> Finding | None:  # fmt: skip
    """A latent ``nonfinite_at_saturation`` note: one step at the learner's starting weights
    with the last layer's bias raised until its largest output pre-activation passes where
    exp overflows in its dtype; a softmax's probabilities do not change (PyTorch's step is
    the same), a sigmoid's round to 1. Said only where the learner's step goes non-finite
    through an exp that overflows: a softmax without each row's maximum subtracted first, a
    sigmoid written exp(z) / (1 + exp(z)) (review s59b F2: both were a plain match)."""
    spec = ref.spec
    L = len(spec.sizes) - 1
    b = f"b{L}"
    act = spec.activations[-1].name
    last = "sigmoid" if act == "sigmoid" else "softmax" if spec.loss.name == "cross_entropy" else ""
    if spec.layered or not last or b not in P0 or b in codec.frozen:
        return None
    dtype = codec.precision if codec.precision in REACH else "float64"
    zL = ref.run(P0, X[batches[0]], y[batches[0]]).z[-1].numpy()
    shift = float(np.log(np.finfo(dtype).max)) + 5.0 - float(zL.max(initial=0.0))
    if not np.isfinite(shift) or shift <= 0.0:
        return None
    Q = {**P0, b: P0[b] + np.asarray(shift, P0[b].dtype)}
    one = _one_step(adapter, runner, ref, codec, Q, X, y, batches, tols, run_steps)
    if one is None or not _unshifted(one[0], one[1], dtype, one[3].warning):
        return None
    obs, rs, what, again = one
    f = nonfinite_finding(obs, what, rs, spec, codec, again.warning, "")
    said = f.evidence.replace(" at step 1 (the first step)", "").rstrip("; ")
    op, fix = (SOFT_EXP_OP, SOFT_EXP_FIX) if last == "softmax" else (SIG_EXP_OP, SIG_EXP_FIX)
    said = re.sub(r"likely operation: [^;]*", op, said, count=1)
    return replace(
        f,
        code="nonfinite_at_saturation",
        step=None,
        evidence=f"every step checked agreed, but at your starting weights with the last "
        f"layer's bias raised by {shift:.4g} (its largest output pre-activation past where exp "
        f"overflows in {dtype}: PyTorch's step there is finite) {said[0].lower()}{said[1:]}; "
        "a latent fault, said as a note: logits that large are rare, but one overflow ends "
        "training",
        hint=fix,
        kind="note",
    )


def _behind(z: np.ndarray, y: np.ndarray) -> float:
    """The most any row's target logit lies below that row's largest (class labels, or
    one-hot rows), 0 where none does or the targets are neither (review s35 F4: -Y / p breaks
    where the target's probability is 0)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape == z.shape:
        lab = y.argmax(1)
    elif y.size == len(z) and np.issubdtype(y.dtype, np.number) and np.all(y == np.round(y)):
        lab = y.astype(int).ravel()
    else:
        return 0.0
    if lab.min(initial=0) < 0 or lab.max(initial=0) >= z.shape[1]:
        return 0.0
    return float((z.max(1) - z[np.arange(len(z)), lab]).max(initial=0.0))


def _unshifted(obs: Any, rs: Any, dtype: str, warning: tuple[int, str] | None) -> bool:
    """Whether the softmax's exp overflowed (taken of the logits, each row's maximum not
    subtracted first): its warning, or, where warnings were silenced, the learner's
    non-finite output rows all holding a logit past exp's overflow in its dtype."""
    if warning is not None and "overflow encountered in exp" in warning[1]:
        return True
    if obs.out is None or rs.z[-1] is None or np.shape(obs.out) != tuple(rs.z[-1].shape):
        return False
    bad = ~np.isfinite(np.asarray(obs.out, np.float64)).all(axis=1)
    over = rs.z[-1].numpy().max(axis=1) > np.log(np.finfo(dtype).max)
    return bool(bad.any() and over[bad].all())


def _never(_out: np.ndarray) -> bool:
    return False
