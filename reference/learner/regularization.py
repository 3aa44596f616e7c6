"""``regularization_mismatch``: the learner's gradients differ from PyTorch's by a multiple of
the parameters themselves, g_L - g_R = lambda' p, the signature of an L2 term that is missing,
undeclared, doubled, of the wrong sign, or applied to the biases; lambda' sign(p) on the weights
is an L1 term (not declarable).

The declared penalty is ``l2`` (l2/2 * sum W^2 over the weights, gradient l2 * W); the
learner's own coefficient is then lambda_L = l2 + lambda', fitted by least squares over the
steps examined, one for all the weights and one for all the biases, and accepted only when every
element of every failing gradient is reproduced within tolerance."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .conventions import l2_on, lr_of, top
from .l2_layers import bias_text, by_layer, per_layer_weights
from .l2_layers import same as _same
from .l2_weights import weights_finding as _weights
from .one_factor import c_cos
from .result import Finding
from .wd_update import update_decays

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec
    from .hypotheses import StepData

MIN_ELEMENTS = 3  # as for an unnamed scale: fewer nonzero parameters are no evidence


def _fit(
    steps: list[StepData],
    names: list[str],
    l1: bool = False,
    per_batch: float | None = None,
    l2: float = 0.0,
) -> float | None:
    """One lambda' for ``names`` over ``steps`` with g_L - g_R = lambda' p (``l1``: lambda'
    sign(p), the gradient of an L1 penalty, in place of the declared ``l2``'s l2 p, which
    g_R holds), or None. ``per_batch`` (the declared l2): fit kappa with
    g_L - g_R + l2 p = (kappa / B) p instead, B each step's rows (a penalty divided by the
    batch's size)."""
    num = den = 0.0
    informative = 0
    base = (lambda p: p.sign()) if l1 else (lambda p: p)  # noqa: E731
    for s in steps:
        for k in names:
            r, p = s.g[k] - s.ref[k] + l2 * s.P[k], base(s.P[k])
            if per_batch is not None:
                r, p = r + per_batch * s.P[k], p / s.a[0].shape[0]
            num += float((r * p).sum())
            den += float((p * p).sum())
            informative += int((p != 0).sum())
    if den == 0.0 or informative < MIN_ELEMENTS:
        return None
    lam = num / den
    if max(float((lam * base(s.P[k])).abs().max()) - s.atol[k] for s in steps for k in names) <= 0:
        return None  # a term no larger than the tolerance is round-off, not a penalty
    for s in steps:
        for k in names:
            r, fit = s.g[k] - s.ref[k], lam * base(s.P[k]) - l2 * s.P[k]
            if per_batch is not None:
                fit = (lam / s.a[0].shape[0] - per_batch) * s.P[k]
            if not bool(((r - fit).abs() <= s.atol[k] + s.rtol * fit.abs()).all()):
                return None
    return lam


def explain_regularization(
    steps: list[StepData],
    codec: Codec,
    failing: dict[str, int],
    l2s: float | tuple,
    spec: Spec,
    l2_biases: float | tuple = 0.0,
    whole_agreed: bool = False,
    implied: bool = False,
) -> list[Finding] | None:
    """Findings when every failing gradient is PyTorch's plus lambda' times its parameter;
    None when that does not explain them all. ``l2``, ``l2_bias``: the declared penalties;
    ``whole_agreed``: all the rows at once agreed, so only a reading of the coefficient by
    the batch's rows (``_readings``) is said where one fits (a 2 on lambda W would show there);
    ``implied``: read off a step's weights (a declared weight_decay: ``wd_update``)."""
    ws, bs = [k for k in failing if k[0] == "W"], [k for k in failing if k[0] == "b"]
    # the declared coefficients on the failing layers (one number, or one per layer)
    l2 = l2_on(ws[0], l2s, 0.0) if ws else top(l2s)
    l2_bias = l2_on(bs[0], 0.0, l2_biases) if bs else top(l2_biases)
    fits: dict[str, float] = {}
    sizes = sorted({s.a[0].shape[0] for s in steps})
    now = [k for k in bs if failing[k] <= steps[0].step]  # biases parting at the first step
    full = max(int(getattr(s, "full", 0) or 0) for s in steps)
    if ws and not now and len(sizes) == 1 and full > sizes[0]:  # short batches alone part
        kappa = _fit(steps, ws, per_batch=l2)  # (review s61a F1: deeplearning.ai's lambd / m
        if kappa is not None and _same(kappa / full, l2, l2, 1e-4):  # on the last batch)
            return [_per_batch(codec.labels(ws), min(failing[k] for k in ws), kappa, l2,
                               [sizes[0], full])]  # fmt: skip
    if ws and len(sizes) > 1 and _fit(steps, ws) is None:  # lambda / B, B the batch's rows?
        kappa = _fit(steps, ws, per_batch=l2)
        if kappa is not None:
            per = _per_batch(codec.labels(ws), min(failing[k] for k in ws), kappa, l2, sizes)
            if per.kind == "note" and now:  # biases parting too are bugs of their own (review
                return [*_parting(steps[0], now, codec), per]  # s47 F1, s48 F3)
            if not now:
                return [per]
    for group in (ws, bs):
        if group:
            lam = _fit(steps, group)
            if lam is None and group is ws and not bs:  # one per layer, else an L1 penalty?
                f = per_layer_weights(steps, codec, failing, ws, l2s, spec.n_layers, _fit)
                return [f] if f else _l1(steps, codec, failing, ws, l2)
            if lam is None:
                return None
            fits.update(dict.fromkeys(group, lam))
    span = f" at steps {steps[0].step}-{steps[-1].step}" if len(steps) > 1 else ""
    wd = float(spec.opt.kwargs.get("weight_decay", 0.0) or 0.0)
    if implied and wd and not (l2 or l2_bias):  # the update's own decay: wd + lambda'
        return update_decays(codec, failing, [ws, bs], fits, wd, lr_of(spec.opt), span)
    out: list[Finding] = []
    if ws:
        lam_l = l2 + fits[ws[0]]
        near = max(1e-6, 10 * steps[0].rtol) if steps[0].rtol > 1e-6 else 1e-6
        own = 0.0 if _same(lam_l, 0.0, max(abs(lam_l), l2), near) else lam_l  # (missing)
        others = codec.labels(  # the weights that take a declared penalty and agree
            [k for k in steps[0].g if k[0] == "W" and k not in ws and l2_on(k, l2s, 0.0)]
        )
        out.append(
            _weights(
                codec.labels(ws),
                min(failing[k] for k in ws),
                lam_l,
                l2,
                wd,
                span,
                others,
                _readings(lam_l, l2, spec, steps, batch_only=whole_agreed),
                all(st.loss_agrees for st in steps),
                whole_agreed,
                by_layer("l2", "W", ws, own, l2s, spec.n_layers),
                codec.conv.l2_in == "update",
                near,
            )  # fmt: skip
        )
    if bs:
        lam_b = fits[bs[0]]
        said = f"your bias gradients are PyTorch's plus {lam_b:.6g} b{span}: "
        own = l2_bias + lam_b  # the learner's own coefficient on its biases
        per = by_layer("l2_bias", "b", bs, own, l2_biases, spec.n_layers)
        if per and not (wd and _same(lam_b, -wd, wd)):  # some layers' biases alone part
            said, fix = said + bias_text(own, lam_b, per)[0], bias_text(own, lam_b, per)[1]
        elif l2_bias and _same(own, 0.0, l2_bias):
            said += f"your biases take no L2 penalty, where l2_bias={l2_bias:g} is declared"
            fix = "add l2_bias * b to your bias gradients, or drop l2_bias from the declaration"
        elif l2_bias:
            said += f"your biases carry {own:.6g} b, where l2_bias={l2_bias:g} is declared"
            fix = f"declare l2_bias={own:.6g} if that is your penalty on the biases"
        elif wd and _same(lam_b, -wd, wd):  # the declared decay reaches every parameter
            said += (
                f"your biases take no weight decay, where weight_decay={wd:g} decays every "
                "parameter (PyTorch's optimizers do)"
            )
            fix = (
                f"decay the biases too, or, for a penalty on the weights only, declare "
                f"l2={wd:g} (L2 on the weights) instead of weight_decay"
            )
        else:
            said += (
                "the L2 penalty is applied to the biases too, where l2 regularises the weights only"
            )
            fix = "leave the biases out of the penalty: only weight gradients get l2 * W" + (
                "; if your biases are regularised on purpose (nnfs's bias_regularizer_l2 = "
                f"lambda adds 2 lambda b), declare l2_bias={lam_b:.6g}"
                if lam_b > 0
                else " (yours has the wrong sign too: it pushes the biases away from 0)"
            )
        out.append(
            Finding(
                "regularization_mismatch",
                codec.labels(bs),
                None,
                min(failing[k] for k in bs),
                said,
                fix,
            )
        )
    return out


def _readings(
    lam: float, l2: float, spec: Spec, steps: list[StepData], batch_only: bool = False
) -> tuple[str, str] | None:
    """What a coefficient ``lam`` where ``l2`` is declared says, as (evidence, fix): 1 / lr
    times it (a decay w *= 1 - l2 without the learning rate: Nielsen's network2 with eta left
    out) or N / B times it (lambda / n with n the mini-batch's B rows where the training set's
    N belong): each reading whose ratio it is, both where they coincide (a ratio cannot tell
    them apart); None for another ratio. ``batch_only``: N / B alone (all N rows at once
    agreed, which rules the others out)."""
    if not l2 or not steps:
        return None
    r, lr = lam / l2, float(spec.opt.kwargs.get("lr", 0.0) or 0.0)
    n, b = steps[0].rows, steps[0].a[0].shape[0]
    said, fixes = [], []
    if lr and math.isclose(r, 1 / lr, rel_tol=1e-6) and not batch_only:
        said.append(
            f"what a decay w *= 1 - l2 that leaves out the learning rate gives (1 / lr = "
            f"{1 / lr:g}; w *= 1 - lr * l2 takes {lr:g} of it)"
        )
        fixes.append(
            "multiply the decay by the learning rate: w *= 1 - lr * l2 (Nielsen's "
            "1 - eta * lmbda / n)"
        )
    if n and b < n and math.isclose(r, n / b, rel_tol=1e-6):
        said.append(
            f"what lambda divided by the mini-batch's {b} rows gives where the training set's "
            f"{n} belong ({n} / {b}; Nielsen's lmbda / n with n = len(training_data))"
        )
        fixes.append(
            "divide lambda by the training set's size, not the mini-batch's (n = "
            "len(training_data) in Nielsen's update_mini_batch; one fixed m in "
            "deeplearning.ai's lambd / m * W, not each batch's A.shape[1])"
        )
    if b > 1 and math.isclose(r, b, rel_tol=1e-6) and not batch_only:
        said.append(
            f"lambda W where the gradient of lambda / (2 m) sum W^2 is (lambda / m) W, with m "
            f"= {b} rows: the 1/m left out"
        )
        fixes.append("divide the L2 term of each weight gradient by m: (lambd / m) * W")
    if b > 1 and math.isclose(r, 1 / b, rel_tol=1e-6) and not batch_only:
        said.append(f"the L2 term divided by m = {b} rows once more than the declared l2")
        fixes.append("divide the L2 term by m once, as the declared l2 does (or not at all)")
    if not said:
        return None
    return f"{r:g} times it, " + ", or ".join(said), "; or, if that is it, ".join(fixes)


def _parting(s: StepData, names: list[str], codec: Codec) -> list[Finding]:
    """``unexplained_mismatch`` for each of ``names`` parting at step ``s`` beside a penalty
    read per batch (which covers the weights alone), with its c and cosine."""
    out = []
    for k in names:
        c, cos = c_cos(s.g[k], s.ref[k])
        out.append(Finding(
            "unexplained_mismatch", (codec.label(k),), None, s.step,
            f"the gradient of {codec.label(k)} parts from PyTorch's at step {s.step} (c = "
            f"{c:.4f}, cos = {cos:.4f}) beside the weights' L2 term over the batch's rows, "
            "which it does not explain",
            "print this gradient beside PyTorch's on that batch (its rows: a divisor, a sum)",
        ))  # fmt: skip
    return out


def _per_batch(
    names: tuple[str, ...], step: int, kappa: float, l2: float, sizes: list[int]
) -> Finding:
    """The weight gradients carry (kappa / B) W, B each batch's rows: deeplearning.ai's
    ``lambd / m * W`` with m the mini-batch's size."""
    said = ", ".join(f"{kappa / b:.6g} at {b} rows" for b in sizes[::-1])
    if _same(kappa / sizes[-1], l2, l2, 1e-4):  # the declared l2 on the full batches: a
        return Finding(  # per-batch objective (scikit-learn's MLP: review s42a F4), a note
            "regularization_mismatch",
            names,
            None,
            step,
            f"your weight gradients carry ({kappa:.6g} / m) W with m the batch's rows ({said}): "
            f"the declared l2 = {l2:g} on your full batches of {sizes[-1]} rows, and on a "
            "shorter batch its own share, the gradient of a penalty lambda / (2 m) sum W^2 per "
            "batch (scikit-learn's MLP: alpha / n_samples of each batch); the twin's l2 is one "
            "coefficient",
            "nothing to fix if the penalty per batch is meant; for one coefficient on every "
            "batch, divide lambda by the training set's size",
            "note",
        )
    return Finding(
        "regularization_mismatch",
        names,
        None,
        step,
        f"your weight gradients carry ({kappa:.6g} / m) W with m the batch's rows ({said}), "
        f"where l2 = {l2:g} is declared: the gradient of a penalty lambda / (2 m) sum W^2 per "
        "batch, whose coefficient changes with the batch's size",
        f"a penalty divided by each batch's rows is a valid per-batch objective no declaration "
        f"expresses (l2 is one coefficient): declare l2={kappa / sizes[-1]:.6g} and check with "
        f"batches of one size (a batch_size that divides your data), or divide lambda by the "
        "training set's size",
    )


def _l1(
    steps: list[StepData], codec: Codec, failing: dict[str, int], ws: list[str], l2: float = 0.0
) -> list | None:
    """The weight gradients are the data's plus lambda sign(W): an L1 penalty, which no
    declaration expresses, beside the declared ``l2``'s l2 W or (``l2`` > 0) in its place."""
    beside = _fit(steps, ws, l1=True) if ws else None  # PyTorch's (l2 W included) + L1
    lam = beside if beside is not None or not l2 else _fit(steps, ws, l1=True, l2=l2)
    if lam is None:
        return None
    span = f" at steps {steps[0].step}-{steps[-1].step}" if len(steps) > 1 else ""
    if l2 and beside is not None:
        said = (
            f"your weight gradients are PyTorch's (the declared l2 * W included) plus "
            f"{lam:.6g} sign(W){span}: the gradient of an L1 penalty ({lam:.6g} sum |W|) beside "
            f"the declared L2, which the declaration does not have"
        )
        fix = (
            "nnparity declares L2 penalties only (l2): if the L1 term is meant, check with it "
            "removed; if not, remove it"
        )
    elif l2:
        said = (
            f"your weight gradients are the data's plus {lam:.6g} sign(W){span}, the gradient "
            f"of an L1 penalty ({lam:.6g} sum |W|), where l2={l2:g} is declared: an L2 "
            f"penalty's gradient is l2 * W ({l2:g} * W)"
        )
        fix = (
            f"for L2, add {l2:g} * W to each weight gradient (not {l2:g} * sign(W)); if the L1 "
            "term is meant, nnparity declares L2 penalties only: check with l2=0 and the L1 "
            "term removed"
        )
    else:
        said = (
            f"your weight gradients are PyTorch's plus {lam:.6g} sign(W){span}: the gradient "
            f"of an L1 penalty ({lam:.6g} sum |W|), which the declaration does not have"
        )
        fix = (
            "nnparity declares L2 penalties only (l2): if the L1 term is meant, check with it "
            "set to 0; if not, remove it"
        )
    return [
        Finding(
            "regularization_mismatch",
            codec.labels(ws),
            None,
            min(failing[k] for k in ws),
            said,
            fix,
        )  # fmt: skip
    ]
