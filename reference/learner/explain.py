"""Route the first mismatching records to the explainer of their stage: forward outputs to
``forward``, gradients to the SGD-form, whole-step scale, regularization and hypothesis
searches (in that order), post-step weights to the optimizer variants of ``optim``, a loss
value alone to a note; what none explains is ``unexplained_mismatch`` with where it is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from . import accumulation
from .clip_steps import clip_stepped
from .codec import canonical_key
from .diagnose import explain_gradients, shown_before
from .evidence import to_tensors
from .factors import proportion
from .fan_in import fan_in_scale
from .folded import explain_folded_transposed
from .forward import columns_output, explain_forward
from .handed import returned_value
from .inner_batches import explain_inner_batches
from .instability import nonfinite_value
from .later_update import later_update
from .layout_decl import explain_layout, explain_layout_steps, qualified
from .loss_as_grad import loss_as_gradient
from .loss_forms import another_loss_value, value_form
from .loss_penalty import loss_penalty, penalty_finding
from .numgrad import at_kink, explain_numerical
from .one_sample import one_sample
from .optim import explain_late_weights, explain_update
from .optim_variants import Sim
from .order import explain_order
from .other_loss import explain_other_loss
from .per_batch_update import per_batch_update
from .rebound import explain_rebound
from .regularization import explain_regularization
from .relabel import explain_relabelled
from .result import Finding, distinct, factor_text
from .row_order import explain_stale
from .row_subset import row_subset
from .scale import explain_total_scale
from .schedule import explain_schedule
from .sgd_form import explain_sgd_form
from .step_evidence import step_data
from .sutskever import sutskever_form
from .velocity_reset import explain_velocity_reset

if TYPE_CHECKING:
    from nnparity.reference.compare import Record
    from nnparity.scratch import Spec

    from .codec import Codec
    from .torch_side import Reference

# (rtol, atol)
HYPOTHESIS_TOL = {"float64": (1e-6, 1e-6), "float32": (1e-4, 1e-4), "float16": (1e-2, 1e-3)}


def diagnose(
    bad: list[Record],
    history: list,
    ref: Reference,
    codec: Codec,
    X: np.ndarray,
    y: np.ndarray,
    spec: Spec,
    nan_step: int | None,
    prec: str = "float64",
    *,
    whole_agreed: bool = False,
) -> list[Finding]:
    """Findings for the mismatching records ``bad`` of a check's run (see the module).
    ``whole_agreed``: the same steps agreed on all the rows at once (``sub_batch``), so a
    reading that does not depend on the batch's rows is ruled out where one that does fits."""
    first = min(r.step for r in bad)
    h_rtol, h_atol = max(HYPOTHESIS_TOL[spec.dtype], HYPOTHESIS_TOL.get(prec, (0.0, 0.0)))
    fwd = [r for r in bad if r.stage == "forward"]
    if fwd:
        obs, _, _ = history[fwd[0].step - 1]
        steps = sorted({r.step for r in fwd})
        if all(r.stage == "forward" for r in bad) and (
            cols := columns_output(steps, history, h_atol, h_rtol)
        ):
            return cols
        found = explain_rebound(history, ref, X, y, codec, fwd[0].step, h_atol, h_rtol)
        found = found or explain_forward(
            ref, obs.params, X[obs.rows], obs.out, h_atol, h_rtol, codec, fwd[0].step
        )
        if found and found[0].code == "layout_declaration":  # every later step read too
            found[0] = qualified(found[0], history[obs.step - 1 :], ref, X, y, h_atol, h_rtol)
        return found
    out: list[Finding] = []
    failing: dict[str, int] = {}
    for r in bad:
        if r.stage == "grad":
            failing.setdefault(r.tensor, r.step)
    acc = accumulation.explain(history, failing, codec) if failing else []
    if acc:  # the running sum of the true gradients: no other hypothesis needed
        failing = {}
        out += acc
    moving = {n for n, g in history[0][1].grads.items() if bool(np.any(np.asarray(g)))}
    if failing and history[0][0].implied and moving <= set(failing):  # a step's lr that
        # changes, no gradient bug: every parameter that moves parts (review s51 F4: W1 alone
        # 1.00001 times off pulled the fitted multipliers of all to 1 + ~1e-6)
        upto = [h for h in history if nan_step is None or h[0].step < nan_step]
        own, twin = [h[0] for h in upto], [h[1].grads for h in upto]
        first_g = min(failing.values())  # a safe log under momentum (review s48 F1)
        sched = clip_stepped(upto, ref, X, y, codec, first_g, h_atol, h_rtol) or explain_schedule(
            own, twin, spec, codec, h_atol, h_rtol
        )
        if sched:
            failing, out = {}, out + sched
    if failing:
        start = min(failing.values())
        sel = [
            h for h in history[start - 1 : start + 2] if nan_step is None or h[0].step < nan_step
        ]
        form = []
        if sel[0][0].implied and spec.opt.name == "sgd":  # another SGD form than declared?
            upto = [h for h in history if nan_step is None or h[0].step < nan_step]
            obs, grads = [h[0] for h in upto], [h[1].grads for h in upto]
            form = (
                sutskever_form(obs, ref, X, y, spec, h_atol, h_rtol, codec)
                or explain_sgd_form(
                    obs, grads, spec, codec, start, h_atol, h_rtol, ref.l2, sorted(failing)
                )
                or explain_inner_batches(upto, ref, X, y, codec, start, h_atol, h_rtol)
                or explain_velocity_reset(obs, grads, spec, codec, start, h_atol, h_rtol)
            )
        floor = 1.0 if prec == "float16" else 0.0
        data = [
            step_data(o, X[o.rows], y[o.rows], ref, rs, h_atol, h_rtol, floor) for o, rs, _ in sel
        ]
        _fill_new(data, history, spec)
        full = max(len(h[0].rows) for h in history)
        shown = shown_before(history, failing, h_atol, floor)
        agrees = any(o.loss is not None for o, _, _ in sel) and not any(
            r.stage == "loss" for r in bad
        )  # the learner's loss value is PyTorch's: a factor is in its backward pass
        initial = to_tensors(history[0][0].params)
        a_first = [t.double() for t in history[0][1].a]
        for d in data:
            d.full, d.P_first, d.a_first, d.rows = full, initial, a_first, len(X)
            d.loss_agrees = agrees
        out += (
            form
            or explain_layout(history, ref, X, y, codec, start, h_atol, h_rtol)
            or explain_other_loss(history, ref, X, y, codec, start, h_atol, h_rtol)
            or explain_relabelled(history, ref, X, y, codec, start, h_atol, h_rtol)
            or explain_stale(history, ref, X, y, codec, start, h_atol, h_rtol)
            or explain_order(data, codec, failing)
            or explain_folded_transposed(data, codec, failing)
            or (
                not at_kink(sel[0][1].z, [a.name for a in spec.activations])
                and explain_numerical(
                    sel[0][0],
                    sel[0][1].grads,
                    X[sel[0][0].rows],
                    y[sel[0][0].rows],
                    ref,
                    codec,
                    failing,
                )
            )  # fmt: skip
            or explain_total_scale(data, codec, failing, ref.l2, spec, sel[0][0].implied)
            or explain_regularization(
                data,
                codec,
                failing,
                ref.l2s,
                spec,
                ref.l2_biases,
                whole_agreed,
                sel[0][0].implied,
            )  # fmt: skip
            or explain_gradients(data, ref, codec, failing, sel[0][0].implied, shown)
        )
        seen = history[start - 1][0].out is not None  # the forward output was compared
        out = _loss_first(out, bad, start, codec, len(spec.sizes) - 1, seen)
        out = fan_in_scale(out, history, spec, codec, start)
        out = loss_as_gradient(out, history, start, codec)
        signed = {p for f in out if f.code != "sign_flip" and "c = -1" in f.evidence
                  for p in f.params}  # fmt: skip  # its sign said (review s45 F1: once)
        out = [f for f in out if f.code != "sign_flip" or not set(f.params) <= signed]
        out = one_sample(out, history, ref, X, y, codec, start, h_atol)
        out = row_subset(out, history, ref, X, y, codec, start, h_atol)
        out = later_update(out, sel[0][0].implied, failing, start, spec, codec, history)
    upd = [r for r in bad if r.stage == "update"]
    if upd:
        seen = [h for h in history if h[2] is not None and not h[0].implied]
        own = [h[0] for h in seen]
        twin = [h[1].grads for h in seen] if own and own[0].grads is None else None
        upto = [o for o in own if nan_step is None or o.step < nan_step]
        nesterov = sutskever_form(upto, ref, X, y, spec, h_atol, h_rtol, codec) if upto else []
        if nesterov:  # Sutskever's form of the declared Nesterov: no update bug (review s23a F2)
            out += nesterov
        elif own and (nan_step is None or own[0].step < nan_step):
            near = [r.tensor for r in upd if r.step <= upd[0].step + 2]  # the steps examined
            parting = sorted(set(near), key=canonical_key)
            found = explain_update(
                own, spec, codec, upd[0].step, h_atol, h_rtol, twin, parting, ref.l2, len(X)
            )
            if twin and found[0].code == "unexplained_mismatch":  # backprop after an update?
                late = explain_late_weights(seen, ref, X, y, codec, upd[0].step, h_atol, h_rtol)
                found = (
                    explain_layout_steps(seen, ref, X, y, codec, upd[0].step, h_atol, h_rtol)
                    or clip_stepped(seen, ref, X, y, codec, upd[0].step, h_atol, h_rtol)
                    or per_batch_update(seen, ref, codec, upd[0].step, h_atol, h_rtol)
                    or late
                    or explain_inner_batches(seen, ref, X, y, codec, upd[0].step, h_atol, h_rtol)
                    or found
                )
            out += clip_read(found, upd, codec, ref.clip) if any(ref.clip) else found
        else:
            out.append(
                Finding(
                    "unexplained_mismatch",
                    tuple(dict.fromkeys(codec.label(r.tensor) for r in upd)),
                    None,
                    upd[0].step,
                    "the post-step weights part from PyTorch's (no gradient is exposed to tell the "
                    f"gradient from the {spec.opt.name} update apart)",
                    "expose your gradients (from_gradients) to separate the two",
                )
            )
    loss = [r for r in bad if r.stage == "loss"]
    if loss and not out and not np.isfinite(loss[0].scratch_value):
        out.append(nonfinite_value(loss[0], history, spec))
    elif loss and not out and all(r.stage == "loss" for r in bad):  # the gradients agree:
        r = loss[0]  # (failing ones no reading explains are said below, never a note)
        c = r.scratch_value / r.torch_value if r.torch_value else float("nan")
        upto = [h for h in history if nan_step is None or h[0].step < nan_step]
        lam = loss_penalty(upto, ref.l2, h_rtol, h_atol)
        if lam is not None:  # the value's L2 penalty is not the gradients': a bug
            ws = tuple(k for k in history[0][0].params if k[0] == "W")
            return [penalty_finding(lam, ref.l2, codec.labels(ws), r.step)]
        if form := value_form(history, r.step, ref, X, y, h_rtol, h_atol):
            return [form]  # BCELoss on the sigmoid's output: another valid form
        if other := another_loss_value(upto, ref, X, y, r.step, h_rtol, h_atol):
            return [other]  # the value of one loss, the gradients of another: a bug
        out.append(
            returned_value(
                history[r.step - 1][0],
                Finding(
                    "loss_value_mismatch",
                    ("loss",),
                    None,
                    r.step,
                    "the loss value you return is {}, PyTorch's {}".format(
                        *distinct(r.scratch_value, r.torch_value)
                    )
                    + f" ({f'ratio {c:.4f}, ' if abs(c - 1) >= 5e-5 else ''}difference "
                    f"{r.scratch_value - r.torch_value:.3g}), while "
                    "the gradients agree: training is "
                    "unaffected; the value is computed otherwise than your gradients are (a term "
                    "scaled or left out, such as the L2 penalty; another reduction; a clipped "
                    "log; or the loss read after its probabilities were changed in place)",
                    "compute the value from the same terms as your gradients, with the declared "
                    "loss and reduction, if you compare or print it",
                    "note",
                ),
            )
        )
    last = max(r.step for r in bad)
    if out and all(f.kind == "note" for f in out) and last > first + 2:  # read on 3 steps:
        later = [r for r in bad if r.step >= last - 2]  # the last ones are read too (s38 F3)
        again = diagnose(later, history, ref, codec, X, y, spec, nan_step, prec,
                         whole_agreed=whole_agreed)  # fmt: skip
        out = [f for f in again if f.kind != "note"] + out
    if out:
        return out
    at = [r for r in bad if r.step == first]
    worst = max(at, key=lambda r: r.tol_used)
    return [
        Finding(
            "unexplained_mismatch",
            tuple(dict.fromkeys(codec.label(r.tensor) for r in at)),
            None,
            first,
            f"the {worst.stage} of {codec.label(worst.tensor)} parts from PyTorch's at step "
            f"{first} (max |diff| = {worst.max_abs:.3g}, max rel = {worst.max_rel:.3g} at "
            f"{worst.worst_index}) and no candidate bug reproduces it within tolerance"
            + _constant(history, worst),
            "print your gradient beside PyTorch's (or a finite-difference estimate) for this "
            "parameter, term by term",
        )
    ]


def _loss_first(
    found: list[Finding], bad: list, start: int, codec: Codec, L: int, seen: bool
) -> list[Finding]:
    """Where the loss value parts at the first failing step (a forward output that parted
    would have been explained first; ``seen``: one was compared) and no reading explains the
    output layer's gradients, the loss is said first, as what every gradient below follows
    from (review s19a: a log-softmax whose max was taken over the batch axis left six
    unexplained gradients)."""
    loss = next((r for r in bad if r.stage == "loss" and r.step == start), None)
    top = {codec.label(n) for n in (f"W{L}", f"b{L}")}
    if (
        loss is None
        or not found
        or any(f.code != "unexplained_mismatch" for f in found)
        or not any(top & set(f.params) and f.step == start for f in found)
    ):
        return found
    after = " (likely a consequence of the loss: fix that first)"
    return [
        Finding(
            "loss_mismatch",
            ("loss",),
            L,
            start,
            "your loss value parts from PyTorch's at step {} ({} against {}){}, and the "
            "gradients part from the output layer down: your loss "
            "computes its value and its gradient at the output from other numbers than your "
            "forward pass gives (probabilities or log-probabilities taken over another axis, "
            "another clip or epsilon, another target encoding); the layers below receive "
            "that gradient".format(
                start,
                *distinct(loss.scratch_value, loss.torch_value),
                " while your forward output agrees" if seen else "",
            ),
            "compute the loss from the declared formula on your forward pass's own output, "
            "and check its gradient at the output first (for softmax with cross-entropy, "
            "(p - y) / N with p your forward's probabilities)",
        ),
        *(replace(f, evidence=f.evidence + after) for f in found),
    ]


def _constant(history: list, worst: Record) -> str:
    """``; it is c = 1.000001 times PyTorch's (cos = 1.0000)`` when a gradient that the
    hypotheses took for agreement is one constant off (too little to name a factor)."""
    obs, rs, _ = history[worst.step - 1]
    if worst.stage != "grad" or not obs.grads or worst.tensor not in obs.grads:
        return ""
    a = np.asarray(obs.grads[worst.tensor], np.float64).ravel()
    e = np.asarray(rs.grads[worst.tensor], np.float64).ravel()
    pc = proportion(a, e) if np.isfinite(a).all() else None
    if pc is None or pc[1] < 1 - 1e-9:
        return ""
    c, cos = pc
    resid = float(np.linalg.norm(a - c * e)) / max(float(np.linalg.norm(c * e)), 1e-300)
    if resid > 0.5 * abs(c - 1):  # no constant: scattered differences of that size
        return (
            f"; it is PyTorch's within a relative {resid:.2g}, scattered with no constant "
            "factor: finite differences with a fine step, or float32 intermediates, differ so"
        )
    return f"; it is c = {factor_text(c, 4)} times PyTorch's (cos = {cos:.6f}): a constant nearly 1"


def _fill_new(data: list, history: list, spec: Spec) -> None:
    """Post-step weights for steps whose learner shows gradients but takes no step of its own
    (the checker steps it with the declared optimizer): the declared optimizer fed with the
    learner's gradients from step 1, as the checker did, so that backprop through updated
    weights (``updated_weights_used``) can be tried there too."""
    if all(d.P_new is not None for d in data):
        return
    last = max(d.step for d in data)
    obs = [h[0] for h in history if h[0].step <= last]
    if any(o.grads is None or o.implied for o in obs):
        return
    sim = Sim(spec.opt.name, dict(spec.opt.kwargs))
    pred = {o.step: sim.step(to_tensors(o.params), to_tensors(o.grads)) for o in obs}
    for d in data:
        if d.P_new is None:
            d.P_new = {**d.P, **pred[d.step]}


def clip_read(found: list[Finding], upd: list, codec: Codec, clip: tuple) -> list[Finding]:
    """The update readings under a declared clip, which simulate the declared update
    unclipped: kept where they read another clip on every parameter (its own declaration),
    else one finding saying none is tried (review s24d F4-F6: "declare clip_grad_norm=0.05"
    where it was declared; a clip read on W1 alone where a doubled gradient hides)."""
    said = f"clip_grad_value={clip[0]:.3g}" if clip[0] else f"clip_grad_norm={clip[1]:.4g}"
    keys = [k for slot in codec.slots for k in slot.canonical() if k not in codec.frozen]
    every = set(codec.labels(keys))
    if (
        any("declare clip_grad_" in f.hint for f in found)
        and not any(said in f.hint for f in found)
        and every <= {p for f in found for p in f.params}
    ):
        return found
    return [
        Finding(
            "unexplained_mismatch",
            tuple(dict.fromkeys(codec.label(r.tensor) for r in upd)),
            None,
            upd[0].step,
            "your post-step weights part from the declared update with its declared clip; the "
            "readings of other update forms take no clip, so none is named",
            "check with the clip off (your clip and its declaration both removed) to have your "
            "update read; with it on, compare your clip with torch.nn.utils' (before the "
            "optimizer, on the gradients of every parameter together for clip_grad_norm)",
        )
    ]
