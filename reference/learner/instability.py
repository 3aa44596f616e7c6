"""Where a NaN or Inf first appears in the learner's numbers, and why.

The step and the first quantity that is not finite come from the observations; the likely
operation comes from the twin's own forward pass at the same weights (an exponent beyond
log(max float), a sigmoid output that is exactly 0 or 1 under binary cross-entropy, a softmax
probability that underflowed to 0, weights grown past 1e100) and from the first RuntimeWarning
the learner's code raised, with its file and line.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec
    from .runner import Obs
    from .torch_side import RefStep

EXP_LIMIT = {"float64": 709.78, "float32": 88.72}
EXP_ACTS = ("sigmoid", "softmax", "log_softmax", "elu", "selu", "softplus", "silu", "mish", "tanh")


def first_nonfinite(obs: Obs, codec: Codec, rs: RefStep | None = None) -> str | None:
    """The first non-finite quantity the learner showed at this step, or None. Given the
    twin's step ``rs``, a loss value alone non-finite where PyTorch's is finite is None: the
    value only (a log of a saturated output), which training never reads; the loss record
    then says so (``explain``'s loss_value_mismatch note)."""
    if obs.out is not None and not np.isfinite(obs.out).all():
        return "the forward output"
    loss = obs.loss is not None and not np.isfinite(obs.loss)
    value_only = rs is not None and bool(np.isfinite(rs.loss))
    if loss and not (value_only and first_nonfinite(replace(obs, loss=None), codec) is None):
        return "the loss"
    for k, g in (obs.grads or {}).items():
        if not np.isfinite(g).all():
            what = "implied gradient" if obs.implied else "gradient"
            return f"the {what} of {codec.label(k)}"
    for k, p in (obs.after or {}).items():
        if not np.isfinite(p).all():
            return f"the updated {codec.label(k)}"
    return None


def cause(rs: RefStep, spec: Spec, params: dict) -> tuple[str, str]:
    """(the likely operation, a one-line fix) from the twin's values at the same weights."""
    acts = [a.name for a in spec.activations]
    limit = EXP_LIMIT[spec.dtype]
    loss = spec.loss.name
    out = rs.a[-1].double().numpy()
    if loss == "bce" and acts[-1] == "sigmoid" and ((out == 0) | (out == 1)).any():
        i = np.argwhere((out == 0) | (out == 1))[0]
        z = float(rs.z[-1].double().numpy()[tuple(i)])
        at = "y/a or log(a)" if out[tuple(i)] == 0 else "(1 - y)/(1 - a) or log(1 - a)"
        return (
            f"the sigmoid output saturated to exactly {out[tuple(i)]:.1f} (z = {z:.4g}, "
            f"sample {int(i[0])}), so {at} divides by zero",
            "take the BCE gradient from the logits (dL/dz = a - y, sigmoid and loss "
            "together) or clip a to [1e-12, 1 - 1e-12]; a smaller lr keeps z moderate",
        )
    if loss in ("nll", "cross_entropy") and acts[-1] in ("softmax", "log_softmax"):
        p = np.exp(out) if acts[-1] == "log_softmax" else out
        if (p == 0).any():
            return (
                "a softmax probability underflowed to exactly 0, so log(p) = -inf",
                "use log_softmax (z - max z - log sum exp) or cross_entropy on logits",
            )
    wmax = max((float(np.abs(v).max(initial=0.0)) for v in params.values()), default=0.0)
    if wmax > 1e100:  # before any exp: grown weights overflow whatever the formulation
        return (
            f"the weights have grown to {wmax:.3g}: the updates overflow",
            "lower the learning rate: the steps grow each time",
        )
    zs = rs.z[-1].double().numpy()
    # exp(z) of a softmax overflows on its largest logit (a very negative one only underflows);
    # a sigmoid's exp(-z) on its most negative: |z|
    top = float((zs if loss == "cross_entropy" else np.abs(zs)).max(initial=-np.inf))
    if loss in ("cross_entropy", "bce_with_logits") and top > limit:
        where = "in the softmax" if acts[-1] == "softmax" else "in the loss"
        what = "the largest logit reaches" if loss == "cross_entropy" else "|logit| reaches"
        return (
            f"exp overflows {where}: {what} {top:.3g} > {limit}",
            "subtract the row maximum before exp (softmax), or use log-sum-exp",
        )
    for l, name in enumerate(acts, start=1):
        zl = np.abs(rs.z[l].double().numpy())
        if name in EXP_ACTS and zl.size and zl.max() > limit:
            return (
                f"exp overflows at layer {l} ({name}): |z| reaches {zl.max():.3g} > {limit}",
                "compute the activation stably (exp of -|z| only, or subtract "
                "the max before exp) and lower the learning rate",
            )
    zmax = max(float(np.abs(z.double().numpy()).max(initial=0.0)) for z in rs.z[1:])
    return (
        f"at this step max |w| = {wmax:.3g} and max |z| = {zmax:.3g}",
        "lower the learning rate and look for exp, log and divisions on values near 0",
    )


GENERIC = "at this step max |w|"  # ``cause``'s words where the twin's values name nothing
NEGATIVE_ROOT = "invalid value encountered in sqrt"
LOG_NEGATIVE = "invalid value encountered in log"
WARNING_CAUSES = (  # (fragment of numpy's RuntimeWarning, the operation, a one-line fix)
    (
        "divide by zero encountered in log",
        "log(0) in your code: a probability underflowed to exactly 0 before the log",
        "take the log of the probabilities in a stable form: log-softmax (z - max z - log sum "
        "exp(z - max z)), or clip p to >= 1e-12 before the log",
    ),
    (
        "overflow encountered in exp",
        "exp overflows in your code",
        "subtract the row maximum before exp (softmax), or compute sigmoid from exp(-|z|)",
    ),
    (
        NEGATIVE_ROOT,
        "the square root of a negative number in your code: a second moment (Adam's or "
        "RMSprop's v, Adagrad's sum, a variance) went below 0, which none computed from squares "
        "can",
        "accumulate the squared gradient, g**2, not g: v = beta2 * v + (1 - beta2) * g**2 "
        "(Adam; RMSprop with alpha), cache += g**2 (Adagrad); keep m and v "
        "separate arrays (v = m, or m = v = np.zeros(...), makes them one array that both "
        "updates write); a variance is the mean of (x - mean)**2",
    ),
    (
        LOG_NEGATIVE,
        "the log of a negative number in your code: a log's argument went below 0 (log(a - 1) "
        "where log(1 - a) is meant? a sign or term slip; a sigmoid's or softmax's probability "
        "is never negative, so no saturation makes it)",
        "check the argument of each log in your loss: y * log(a) + (1 - y) * log(1 - a), each "
        "argument in (0, 1]; no clip or epsilon repairs a negative one",
    ),
    (
        "invalid value encountered in",
        "an invalid operation in your code (0/0, inf - inf or inf * 0)",
        "print the arrays of that line with np.isfinite: a division by a sum that underflowed, "
        "or inf from an overflow, feeds it",
    ),
    (
        "divide by zero encountered",
        "a division by zero in your code",
        "guard the denominator (clip it away from 0) or rewrite the expression stably",
    ),
    (
        "overflow encountered",
        "an overflow in your code",
        "keep the values moderate: a stable formulation, and a smaller learning rate if the "
        "weights grow",
    ),
)


def warning_cause(text: str) -> tuple[str, str] | None:
    """(operation, fix) named by the learner's own RuntimeWarning, or None."""
    return next(((op, h) for frag, op, h in WARNING_CAUSES if frag in text), None)


def _contradicts(own: str, twin: str) -> bool:
    """Whether the learner's warning names another operation than the twin's values suggest
    (then the learner's own code is the evidence); a generic warning only replaces the
    twin's generic sentence."""
    if twin.startswith("at this step max |w|"):
        return True
    if own.startswith("log(0)"):
        return "log(" not in twin
    if own.startswith("exp overflows"):  # 1 / (1 + exp(-z)) overflowing is how a sigmoid
        return "exp" not in twin and "saturated" not in twin  # reaches exactly 0 (s19b)
    if own.startswith("an invalid operation") and twin.startswith("exp overflows"):
        return True  # no overflow in your code, a 0/0: a max taken over the batch leaves a
        # row's exps underflowed to 0 (review s20b, d04), where PyTorch's would overflow
    return False


def backward_only(obs: Obs, what: str, rs: RefStep) -> bool:
    """A gradient is non-finite while the learner's own output and loss are finite and
    PyTorch's gradients at the same weights are finite: the learner's backward pass."""
    return (
        "gradient of" in what
        and "implied" not in what
        and (obs.out is None or bool(np.isfinite(obs.out).all()))
        and (obs.loss is None or bool(np.isfinite(obs.loss)))
        and all(bool(np.isfinite(g).all()) for g in rs.grads.values())
    )


BETA_POWER = re.compile(r"(beta\w*|\bb\d|0\.9\d*)\s*(\*\*|,\s*\w*t\b)", re.IGNORECASE)  # beta1**t


def update_made(
    obs: Obs,
    what: str,
    expected: dict | None,
    spec: Spec,
    storage: dict[str, str],
    tgrads: dict | None = None,
) -> tuple[str, str] | None:
    """(operation, fix) when the learner's update makes the NaN/Inf: its gradients are finite
    (they are checked first; implied ones are non-finite because the step is) and the
    declared optimizer's step from them (or from PyTorch's, for a step that hides them) is
    finite and fits each weight's storage (a float16 weight past 65504 overflows: the
    training's, not the code's). None otherwise. Adam's bias correction divided by 1 - beta^0
    = 0 is named at the first step where the learner's warning quotes a beta's power, or where
    the corrections at t - 1 reproduce its step, non-finite entries and all (a warning
    silenced by np.errstate says nothing); ``tgrads``: PyTorch's gradients at its weights."""
    step_made = "updated" in what or (obs.implied and "implied gradient" in what)
    hidden = obs.grads is None or obs.implied  # its own gradient may be what went non-finite
    if expected is None or not step_made or (hidden and obs.step > 1):
        return None  # (after agreeing steps, a formulation's NaN: instability)
    for k, v in expected.items():
        top = float(np.finfo(np.dtype(storage.get(k, "float64"))).max)
        if not np.isfinite(v).all() or float(np.abs(v).max(initial=0.0)) > top:
            return None
    line = obs.warning[1] if obs.warning is not None else ""
    adam = obs.step == 1 and spec.opt.name in ("adam", "adamw")
    said = BETA_POWER.search(line) and ("divide by zero" in line or "invalid value" in line)
    if adam and (said or _t_zero(obs, spec, tgrads if hidden else obs.grads)):
        return (
            "your Adam step divides by 1 - beta^t with t = 0 at the first step (the bias "
            "correction of a step count that starts at 0, or is advanced after the update)",
            "count the steps from 1: t += 1 before the update, so the first correction is "
            "1 - beta1 (as Adam's paper and PyTorch do); no clip or epsilon is needed",
        )
    if hidden:  # at the first step, before anything agreed
        return (
            f"your step: the declared {spec.opt.name} step from PyTorch's gradients at the same "
            "weights is finite, so the NaN/Inf is made in your step's code (its gradient or "
            "its update: a division by a state still 0, a step count of 0, an array unfilled)",
            "print each array of your step with np.isfinite(...).all() to find the first that "
            "is not finite; the learning rate is not the cause",
        )
    return (
        "your update: the gradients you return are finite and the declared "
        f"{spec.opt.name} step from them is finite, so the NaN/Inf is made in your optimizer's "
        "code (a division by a state still 0, a step count of 0, an array used unfilled)",
        "print each array of your update with np.isfinite(...).all() to find the first that is "
        "not finite; the learning rate is not the cause",
    )


def nonfinite_finding(
    obs: Obs,
    what: str,
    rs: RefStep,
    spec: Spec,
    codec: Codec,
    warning: tuple[int, str] | None,
    twin_free: str,
    made: tuple[str, str] | None = None,
) -> Finding:
    """The ``nonfinite`` finding for the learner's first non-finite step. The learner's own
    first RuntimeWarning names the operation when there is one; the twin's values only
    otherwise (the learner's code may do what the twin does not, or the reverse)."""
    op, hint = cause(rs, spec, obs.params)
    own = warning_cause(warning[1]) if warning and warning[0] <= obs.step else None
    if made is not None and not (own is not None and warning and NEGATIVE_ROOT in warning[1]):
        op, hint = made  # (a root of a negative moment has its own, more precise, words)
    elif own is not None and _contradicts(own[0], op):
        op, hint = own
    elif backward_only(obs, what, rs) and obs.step == 1 and op.startswith(GENERIC):
        # (a value the twin names at the same weights, an output saturated to exactly 1,
        # is what the backward pass divided by: review s19b)
        op, hint = (
            "your backward pass: nothing you return before the gradient is non-finite and "
            "PyTorch's gradients at the same weights are finite, so the NaN/Inf is made in "
            "your gradient code (a 0/0, inf * 0, or an array used before it was filled)",
            "print each intermediate array of your backward pass with np.isfinite(...).all() "
            "to find the first one that is not finite; the learning rate is not the cause",
        )
    if "overflow" in op and "float16" in (codec.precision, *obs.held.values()):  # its range
        hint = (
            "float16 holds nothing above 65504: compute in float32 (keep float16 for storage, "
            "as mixed precision does) or scale your inputs and targets to about 1; " + hint
        )
    twin_ok = np.isfinite(rs.loss) and all(np.isfinite(g).all() for g in rs.grads.values())
    same = (
        "PyTorch at the same weights stays finite"
        + (
            " (exact from the logits; BCELoss clamps log at -100)"
            if spec.loss.name == "bce"
            else ""
        )
        if twin_ok
        else "PyTorch at the same weights is not finite either"
    )
    warn = f"; warning at step {warning[0]}: {warning[1]}" if warning else ""
    label = what.split(" of ", 1)[1] if " of " in what else what.replace("the ", "", 1)
    label = label.replace("updated ", "")
    return Finding(
        "nonfinite",
        (label,),
        None,
        obs.step,
        f"{what} is NaN/Inf at step {obs.step} "
        f"{'(earlier steps agree with PyTorch)' if obs.step > 1 else '(the first step)'}; likely "
        f"operation: {op}{warn}; {same}; {twin_free}",
        hint,
        "instability" if made is None else "bug",
    )


def diverges_finding(
    obs: Obs, what: str, rs: RefStep, spec: Spec, twin_free: str, lower: float | None = None
) -> Finding:
    """``learning_rate`` (a limitation) when the learner turns non-finite and PyTorch, trained
    the same way from the same weights, does too: the training diverges, whatever the code
    (``lower``: an lr at which it stays finite, said in the fix; 0.0: none found)."""
    op, _ = cause(rs, spec, obs.params)
    wmax = max((float(np.abs(v).max(initial=0.0)) for v in obs.params.values()), default=0.0)
    return Finding(
        "learning_rate",
        (),
        None,
        obs.step,
        f"{what} is NaN/Inf at step {obs.step}, and {twin_free}: the training diverges with "
        f"{spec.opt}, not through your formulation (your numbers agree with PyTorch's until "
        f"then){'' if 'grown' in op else f'; max |w| = {wmax:.3g}'}; likely operation: {op}",
        "look at the scale of your inputs and targets first (standardise them): no lr down "
        "to 1/10,000 of yours keeps the run finite, so the lr alone is not what overshoots"
        if lower == 0.0
        else "lower the learning rate"
        + (f" (at lr = {lower:g} the run stays finite)" if lower else "")
        + ": with this one every step overshoots and the weights grow",
        "limitation",
    )


def nonfinite_value(r: Any, history: list, spec: Spec) -> Finding:
    """The loss value alone non-finite (``first_nonfinite`` with the twin's step), a note:
    the forward output and gradients agree, so training is unaffected."""
    obs, rs, _ = next(h for h in history if h[0].step == r.step)
    op, _ = cause(rs, spec, obs.params)
    own = warning_cause(obs.warning[1]) if obs.warning else None
    if own is not None and "log" in own[0] and _contradicts(own[0], op):  # its own log's line
        op = own[0]  # (an exp that overflowed first in a sigmoid made a 0 or 1, not the inf)
    negative = own is not None and obs.warning and LOG_NEGATIVE in obs.warning[1]
    fix = (
        "compute the value from the logits (BCE: np.logaddexp(0, z) - y z; cross-entropy: "
        "log-sum-exp) or clip the probabilities inside the log (np.clip(a, 1e-12, 1 - 1e-12)); "
        "your gradients need no change"
    )
    if negative:
        op, fix = own[0], own[1] + "; your gradients need no change"
    return Finding(
        "loss_value_mismatch",
        ("loss",),
        None,
        r.step,
        f"the loss value you return is {r.scratch_value:g} at step {r.step}, PyTorch's "
        f"{r.torch_value:.6g}, while your output and gradients agree: training is unaffected, "
        f"the value alone is not finite (likely operation: {op})",
        fix,
        "note",
    )


def _t_zero(obs: Obs, spec: Spec, grads: dict | None) -> bool:
    """Whether Adam's step with a bias correction taken at t - 1 (m's, v's or both: a division
    by 1 - beta^0 = 0 at the first step) reproduces the learner's first step from ``grads``:
    the same NaN and +-Inf entries, the finite ones within 1e-5."""
    import torch

    from .optim_sim import Sim

    if not grads or obs.after is None or any(k not in grads for k in obs.after):
        return False
    P = {k: torch.as_tensor(np.asarray(v, np.float64)) for k, v in obs.params.items()}
    G = {k: torch.as_tensor(np.asarray(grads[k], np.float64)) for k in obs.after}
    for variant in ("t_behind", "t_behind_m", "t_behind_v"):
        with np.errstate(all="ignore"):
            Q = Sim(spec.opt.name, dict(spec.opt.kwargs), variant).step(P, G)
        if all(_same_step(Q[k].numpy(), np.asarray(obs.after[k], np.float64)) for k in Q):
            return True
    return False


def _same_step(q: np.ndarray, a: np.ndarray) -> bool:
    """Entry by entry: non-finite in both, as the same NaN or Inf, else close; some NaN/Inf."""
    fq, fa = np.isfinite(q), np.isfinite(a)
    if q.shape != a.shape or not np.array_equal(fq, fa) or fq.all():
        return False
    same = np.array_equal(q[~fq], a[~fa], equal_nan=True)
    return same and np.allclose(a[fa], q[fq], rtol=1e-5, atol=0.0)
