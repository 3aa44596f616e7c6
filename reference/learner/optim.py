"""Optimizer variants a learner may have written instead of the declared torch optimizer, run
with torch tensors on the learner's own gradients so the post-step weights can be predicted.

``variant=None`` is torch 2.13's single-tensor update (``EQUATION``); the others
are the usual hand-written departures: eps inside the square root, Adam without bias
correction (or with it on one moment only), another eps or another beta in a bias correction
than in its moving average (values fitted), weight decay left out or coupled the other way,
SGD momentum with the buffer started at (1 - dampening) g, dampening ignored, Nesterov where
classical momentum is declared (or the reverse). They are searched as combinations, smallest
first (``MAX_PARTS`` at most): the first combination that reproduces the learner's post-step
weights is reported, with each part's fix; where some parameters part and the others follow the
declared optimizer, the parting ones alone are searched (weight decay left off the biases).
A step that hides its gradients and follows no variant is also tried with the gradients carried
back through the updated layer above (``explain_late_weights``: ``updated_weights_used``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from .decay import explain_decay
from .evidence import to_tensors
from .factors import fit
from .later_part import eps_inside_at, with_later_part
from .optim_fixes import EPS_IN_SQRT, VARIANT_FIX, eps_inside_form
from .optim_scale import gradient_scale, lr_factor, scale_reading, short_batch_scale
from .optim_subset import subset_finding
from .optim_variants import (
    DECAY_AFTER,
    EQUATION,
    FITTED,
    Sim,
    _applies,
    _cls,
    _follows,
    per_epoch,
    variant_search,
)
from .result import Finding
from .scale import adam_constants, averaged_momentum
from .schedule import explain_schedule
from .state_restart import state_restart

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec
    from .torch_side import Reference, RefStep

Tensor = torch.Tensor


def explain_update(
    history: list,
    spec: Spec,
    codec: Codec,
    first: int,
    atol: float,
    rtol: float,
    twin_grads: list[dict] | None = None,
    parting: list[str] | None = None,
    l2: float = 0.0,
    rows_total: int = 0,
) -> list[Finding]:
    """Post-step weights that do not follow the declared optimizer from the learner's own
    gradients: a constant factor on the step (sign, lr), or a named optimizer variant; when
    nothing is named, the finding names the ``parting`` updates (canonical names), if given.
    ``twin_grads`` (one dict per observation): the learner exposes no gradient (a style (c)
    step with a stateful optimizer), so PyTorch's gradients at the learner's weights stand in
    for them; a step no variant reproduces then cannot be told from a gradient bug. ``l2``: the
    declared L2 term (in the gradients), which an SGD variant may apply outside the momentum.
    ``rows_total``: the data's rows, for a step divided by them where a batch is averaged."""
    name, kw = spec.opt.name, dict(spec.opt.kwargs)
    if l2 and name == "sgd":
        kw["_l2"] = l2
    grads = twin_grads or [o.grads for o in history]
    seq = [
        (to_tensors(o.params), to_tensors(g), to_tensors(o.after))
        for o, g in zip(history, grads, strict=True)
    ]
    whose = "PyTorch's gradients at your weights" if twin_grads else "your gradients"
    true = Sim(name, kw)
    pred = [true.step(P, G) for P, G, _ in seq]
    k = first - history[0].step
    pairs, own = [], {}
    for (P, _, A), Q in zip(seq[k : k + 3], pred[k : k + 3], strict=False):
        for n in A:
            if n in Q:
                dl, dr = A[n] - P[n], Q[n] - P[n]
                s = max(float(dr.abs().max()), 1e-300)
                pairs.append((dl, dr, atol * s, rtol))
                own.setdefault(n, []).append(pairs[-1])
    names = [
        (1.0, "1"),
        (-1.0, "-1"),
        (2.0, "2"),
        (0.5, "1/2"),
        (float(len(history[0].rows)), "N"),
        (1 / len(history[0].rows), "1/N"),
    ]
    swapped = adam_constants(spec)
    names += [(c, label) for c, label, _ in swapped]
    B = len(history[0].rows)
    if rows_total > B and all(abs(B / rows_total - v) > 1e-9 for v, _ in names):
        names.append((B / rows_total, "B/M"))  # (where it is 1/2, no cause is told apart)
    f = fit(pairs, names, ref_zero=True)  # the prediction here is the declared step itself
    names_ = codec.labels(list(seq[0][2]))

    def _mismatch(evidence: str, fix: str) -> list[Finding]:
        return [Finding("optimizer_update_mismatch", names_, None, first, evidence, fix)]

    if f.ok and f.factor == "-1":
        return [
            Finding(
                "sign_flip",
                names_,
                None,
                first,
                f"the step taken is -1 times the "
                f"declared optimizer's step from {whose}: {f.text(B, 0)}",
                "subtract the update: w -= lr * step",
            )
        ]
    if f.ok and f.factor == "B/M":
        return _mismatch(
            f"the step taken is c times the declared optimizer's (from {whose}): c = "
            f"{f.c:.4f} = B/M, a batch's rows over the data's (B = {B}, M = {rows_total})",
            "your update divides by the rows of the whole data set (eta / n with n = "
            "len(training_data)) where it averages a batch: divide by the batch's rows, "
            "len(mini_batch)",
        )
    if f.ok and f.factor != "1":  # one constant at the hypothesis tolerance; a schedule
        # whose multipliers move by less (float32: 0.990099, 0.990196, ...) is read at the
        # steps' own precision, where it differs from a constant (review s19a)
        sched = explain_schedule(history, grads, spec, codec, atol, rtol)
        if sched:
            return sched
    if f.ok and f.factor != "1":
        return _mismatch(
            f"the step taken is c times the declared optimizer's (from {whose}): {f.text(B, 0)}",
            averaged_momentum(spec, f.c)
            or next((fix for _, label, fix in swapped if label == f.factor), None)
            or "use the declared learning rate, or declare the one you use",
        )
    apart = _per_param(own, names) if not f.ok else None
    if apart:
        flips = [n for n, lab in apart.items() if lab == "-1"]
        other = {n: lab for n, lab in apart.items() if lab not in ("1", "-1")}
        said = ", ".join(f"{lab} for {codec.labels([n])[0]}" for n, lab in apart.items())
        if flips and not other:
            return [
                Finding(
                    "sign_flip",
                    codec.labels(flips),
                    None,
                    first,
                    f"the step taken is -1 times the declared optimizer's step from {whose} "
                    f"for {', '.join(codec.labels(flips))}, and the declared step for the "
                    f"others (c = {said})",
                    "subtract the update for those too: w -= lr * step",
                )
            ]
        return _mismatch(
            f"the step taken is c times the declared optimizer's (from {whose}), with c "
            f"per parameter: {said}",
            "use one update, with the declared learning rate, for every parameter",
        )
    lr_c = lr_factor(name, kw, seq[: k + 3], pairs, atol, rtol)
    after = name == "adamw" and _applies(name, "decay_after", kw, [])
    if (
        lr_c is not None
        and after
        and _follows(Sim(name, kw, "decay_after"), seq[: k + 3], atol, rtol)
    ):
        return _mismatch(  # c = 1 - lr wd: the step taken from the decayed weights' twin
            f"from {whose}, your post-step weights follow {name} with {DECAY_AFTER}",
            f"{VARIANT_FIX['decay_after']}; torch.optim.{_cls(name)}: {EQUATION[name]}",
        )
    if lr_c is not None:
        c, lr = lr_c
        return _mismatch(
            f"the step taken is c = {c:.8g} times the declared optimizer's (from {whose}): "
            f"lr = {lr * c:.8g} where {lr:g} is declared",
            "use the declared learning rate, or declare the one you use",
        )
    if decay := name == "sgd" and explain_decay(seq[: k + 3], kw, l2, atol, rtol, B):
        said, fix, which = decay
        labels = codec.labels(which)
        return [
            Finding("optimizer_update_mismatch", labels, None, first, f"from {whose}, {said}", fix)
        ]
    if rows_total > B:  # the steps of one pass over the data (an epoch)
        kw["_epoch"] = -(-rows_total // B)
    found = per_epoch(name, kw, variant_search(name, kw, seq[: k + 3], atol, rtol), seq, atol,
                      rtol)  # fmt: skip
    if any(key in FITTED for key, _, _ in found):  # a fitted beta absorbs a small decay too:
        sched = explain_schedule(history, grads, spec, codec, atol, rtol, closed_only=True)
        if sched:  # a decay of closed form is the simpler reading (nnfs's decay=5e-7)
            return sched
    if inside := eps_inside_at(name, kw, found, seq, atol, rtol):  # (review s49 F2)
        return _mismatch(*inside(whose))
    scaled = scale_reading(name, kw, found, seq[: k + 3], len(history[0].rows), atol, rtol)
    if scaled:
        return _mismatch(*scaled(whose))
    keys = [key for key, _, _ in found]  # a form said as a note holds at every step seen
    valid = len(keys) == 1 and _follows(Sim(name, kw, keys[0]), seq, atol, rtol)  # (s38 F2)
    if len(keys) == 1 and not valid and (more := with_later_part(name, kw, found, seq, atol, rtol)):
        found, keys = more, [key for key, _, _ in more]  # a second part shows later (s45 F6)
    if keys == ["eps_hat"] and valid:  # the Adam paper's form: not a bug
        return [
            Finding(
                "eps_hat_form",
                names_,
                None,
                first,
                f"from {whose}, your post-step weights follow {name} with {found[0][1]}: "
                "Kingma & Ba's form, which TensorFlow's and Keras's Adam use, where PyTorch's "
                "adds eps after the bias correction; the two part only where sqrt(v) is near "
                "eps",
                "nothing to fix: a valid form of Adam; to match PyTorch to the digit, add eps "
                "after the correction: m_hat / (sqrt(v_hat) + eps)",
                "note",
            )
        ]
    if keys == ["eps_inside"] and name in EPS_IN_SQRT and valid:
        return [eps_inside_form(name, names_, first, f"from {whose}, your post-step weights "
                                f"follow {name} with {found[0][1]}")]  # fmt: skip
    if found:
        labels = " and ".join(lab for _, lab, _ in found)
        fixes = "; ".join(f"({i}) {fix}" for i, (_, _, fix) in enumerate(found, 1))
        sim = lambda: Sim(name, kw, keys[0])  # noqa: E731
        upto = 0 if len(keys) > 1 or valid else _upto(sim, seq, atol, rtol)
        return _mismatch(
            f"from {whose}, your post-step weights follow {name} with {labels}"
            + (f" ({len(found)} departures together)" if len(found) > 1 else "")
            + (
                f" up to step {history[0].step + upto - 1}, and parting from it after: "
                "something else too"
                if upto
                else ""
            ),  # fmt: skip
            f"{fixes}; torch.optim.{_cls(name)}: {EQUATION[name]}",
        )
    if short := short_batch_scale(name, kw, seq[: k + 3], history[: k + 3], atol, rtol):
        return _mismatch(*short(whose))
    if gs := gradient_scale(name, kw, seq[: k + 3], len(history[0].rows), atol, rtol):
        return _mismatch(
            f"from {whose}, your post-step weights follow {name} fed with c = {gs[1]} times "
            "those gradients (the declared weight decay added as declared)",
            f"check your gradient's 1/N first (yours are c = {gs[0]:g} times PyTorch's)",
        )
    if name != "sgd":
        lr = float(kw.get("lr", 1e-3))
        for other, label in ((Sim("sgd", {"lr": lr}), "plain SGD (w -= lr * g)"),):
            if _follows(other, seq[: k + 3], atol, rtol):
                return _mismatch(
                    f"from {whose}, your post-step weights follow {label} with lr = {lr:g}, "
                    f"not the declared {name}",
                    f"declare optimizer='sgd', or write the {name} update: {EQUATION[name]}",
                )
    steps = [o.step for o in history]  # a restart's steps are a schedule's too (s44 F3)
    if restart := state_restart(name, kw, seq, steps, first, atol, rtol, names_, whose):
        return restart
    sched = explain_schedule(history, grads, spec, codec, atol, rtol)
    if sched:
        return sched
    part = subset_finding(name, kw, seq, k, parting, atol, rtol, codec, first, whose)
    if part:
        return part
    unnamed = codec.labels(parting) if parting else names_
    if twin_grads:
        return [
            Finding(
                "unexplained_mismatch",
                unnamed,
                None,
                first,
                "your post-step weights part from PyTorch's, and no known "
                f"{name} variant fed with PyTorch's gradients at your weights reproduces them; "
                "your step exposes no gradient, so a gradient bug cannot be told apart from "
                "an update bug",
                "expose your gradients (from_gradients with step=...) to separate the two",
            )
        ]
    return [
        Finding(
            "optimizer_update_mismatch",
            unnamed,
            None,
            first,
            "from your own gradients the declared optimizer gives other post-step "
            f"weights than yours, and no known {name} variant reproduces them",
            f"compare your update line by line with torch.optim.{_cls(name)}",
        )
    ]


def _upto(sim: Callable[[], Sim], seq: list, atol: float, rtol: float) -> int:
    """How many of ``seq``'s steps ``sim()`` follows from the first (0: not all three read)."""
    lo, hi = 0, len(seq)  # follows seq[:lo], not seq[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _follows(sim(), seq[:mid], atol, rtol) else (lo, mid)
    return lo if lo >= 3 else 0


def _per_param(own: dict[str, list], names: list) -> dict[str, str] | None:
    """Each parameter's own named step factor ({name: '-1', ...}) when every parameter has
    one and they are not all the same (one factor for all is the global fit's), else None."""
    got = {}
    for n, pairs in own.items():
        f = fit(pairs, names, ref_zero=True)
        if not f.ok or f.factor is None:
            return None
        got[n] = f.factor
    return got if len(set(got.values())) > 1 else None


def late_grads(
    ref: Reference, rs: RefStep, params: dict, after: dict, Xb: Any, yb: Any
) -> dict[str, Tensor]:
    """PyTorch's gradients at the learner's weights ``params``, except that the error reaches
    each layer through the layer above's post-step weights ``after``
    (dz_l = f_l'(z_l) * (dz_(l+1) W'_(l+1)^T)): backprop after an update (LEARNER_BUGS.md 4),
    float64, keyed by canonical name, the declared L2 term added at ``params``."""
    L = ref.spec.n_layers
    _, yt = ref.tensors(Xb, yb, torch.float64)
    a = [t.to(torch.float64) for t in rs.a]
    z = [None] + [t.to(torch.float64) for t in rs.z[1:]]
    zr = z[L].detach().requires_grad_(True)
    loss = ref.loss_of(zr if ref.stable else ref.acts[-1](zr), yt, ref.stable)
    (dz,) = torch.autograd.grad(loss, zr)
    new, P = to_tensors(after), to_tensors(params)
    G: dict[str, Tensor] = {}
    for l in range(L, 0, -1):
        if f"W{l}" in rs.grads:
            G[f"W{l}"] = a[l - 1].T @ dz + ref.l2_on(f"W{l}") * P[f"W{l}"]
        if f"b{l}" in rs.grads:
            G[f"b{l}"] = dz.sum(0)
        if l > 1:
            zr = z[l - 1].detach().requires_grad_(True)
            (dz,) = torch.autograd.grad(ref.acts[l - 2](zr), zr, dz @ new[f"W{l}"].T)
    return G


def explain_late_weights(
    seen: list,
    ref: Reference,
    X: Any,
    y: Any,
    codec: Codec,
    first: int,
    atol: float,
    rtol: float,
) -> list[Finding]:
    """A step that exposes no gradient (``seen``: its (obs, twin step, expected) from step 1):
    ``updated_weights_used`` when its post-step weights follow the declared optimizer fed with
    ``late_grads`` (each layer's error carried back through the updated layer above), where
    PyTorch's own gradients do not reproduce them; else []."""
    spec = ref.spec
    name, kw = spec.opt.name, dict(spec.opt.kwargs)
    if spec.n_layers < 2:
        return []
    k = first - seen[0][0].step
    seq = []
    for obs, rs, _ in seen[: k + 3]:
        if obs.after is None:
            return []
        Xb, yb = X[obs.rows], y[obs.rows]
        if not rs.z:  # a step the watch passed: its activations were let go (checker)
            rs = ref.run(obs.params, Xb, yb)
        G = late_grads(ref, rs, obs.params, obs.after, Xb, yb)
        seq.append((to_tensors(obs.params), G, to_tensors(obs.after)))
    if not _follows(Sim(name, kw), seq, atol, rtol):
        return []
    L = spec.n_layers
    below = [n for n in seq[0][1] if int(n[1:]) < L]
    names = codec.labels(below)
    above = ", ".join(codec.label(f"W{l}") for l in range(2, L + 1))
    return [
        Finding(
            "updated_weights_used",
            names,
            None,
            first,
            f"your post-step weights follow {name} fed with PyTorch's gradients recomputed "
            f"with {above} after {'its' if L == 2 else 'their'} update (the error carried back "
            "through the new "
            f"weights) at steps {seen[0][0].step}-{seen[len(seq) - 1][0].step}",
            "compute every layer's gradient before updating any weights (keep "
            f"{above} from before the step for backprop)",
        )
    ]
