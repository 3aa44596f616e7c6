"""A learning rate that changes from step to step (a decay schedule): the learner's steps are
the declared optimizer's, fed with the same gradients, each scaled by one number per step,
s_t (every optimizer's state is independent of lr, so A = P + s_t (Q - P) exactly). Named only
when every step fits its own s_t and the s_t are not all one."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from nnparity.scratch.schedules import Schedule, lr_at, of

from .codec import canonical_key
from .decay_units import per_unit_decay
from .evidence import to_tensors
from .golden import golden
from .optim_variants import Sim
from .result import Finding
from .schedule_form import closed_form as _form
from .schedule_form import declaration, described, sched_decl, torch_form

SPREAD = 4.0  # multipliers this many rounding spreads apart from their mean are no constant

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec


def explain_schedule(
    own: list,
    grads: list,
    spec: Spec,
    codec: Codec,
    atol: float,
    rtol: float,
    closed_only: bool = False,
) -> list[Finding]:
    """``lr_schedule`` from the observed steps ``own`` (with post-step weights), fed with
    ``grads`` (the learner's own, or PyTorch's at its weights), one dict per step;
    ``closed_only``: only a schedule of a closed form (inverse-time or exponential decay)."""
    seq = [(o, g) for o, g in zip(own, grads, strict=True) if o.after is not None]
    if len(seq) < 3:
        return []
    sim = Sim(spec.opt.name, dict(spec.opt.kwargs))
    mults, noise = [], []
    held = codec.held_in()
    for obs, g in seq:
        P, A = to_tensors(obs.params), to_tensors(obs.after)
        Q = sim.step(P, to_tensors(g))
        d = {k: Q[k] - P[k] for k in Q}
        e = {k: A[k] - P[k] for k in Q}
        den = sum(float((v * v).sum()) for v in d.values())
        if den == 0:
            return []
        s = sum(float((e[k] * d[k]).sum()) for k in d) / den
        if not _takes(s, d, A, P, atol, rtol):  # every parameter takes this step's multiplier
            counted = per_unit_decay(seq, spec, codec, atol, rtol)  # (a counter per update?)
            return counted or _momentum_decay(seq, spec, codec, atol, rtol)
        mults.append(s)
        noise.append(_rounding(d, A, held) / den)
    if any(abs(m) <= 1e-6 for m in mults):  # a step that moves nothing is no schedule (a
        return []  # clipped log's ~0 gradient where every sample saturates: review s42a F2)
    full = max(len(o.rows) for o, _ in seq)  # a short last batch's own factor is no schedule
    kept = [i for i, (o, _) in enumerate(seq) if len(o.rows) == full]
    ms = [mults[i] for i in kept]
    mean = sum(ms) / len(ms)
    if max(ms) - min(ms) <= 1e-6 * max(abs(m) for m in ms) or all(
        abs(mults[i] - mean) <= SPREAD * noise[i] for i in kept
    ):
        return []  # one constant multiplier on the full batches (each step's own s_t parts from
        # it by no more than its storage's rounding): another lr or a factor, said elsewhere
    shown, span, digits = _shown(mults, seq, 1e-9 if spec.dtype == "float64" else 1e-5)
    steps = [o.step for o, _ in seq]
    form, decl = _form(mults, steps, digits, 1e-9 if spec.dtype == "float64" else 1e-5)
    if closed_only and (not form or mults[-1] >= mults[0]):  # a decay, never a growth: a
        return []  # fitted value's residue read as lr times 1.0000011 is none (review s18b)
    norm = 0.0 if form else _norm_clip(mults, seq)
    form = form or (
        f" (or your gradients clipped to a global norm of {norm:.4g}: each multiplier below 1 is "
        "that norm over the step's gradient norm; the twin does not clip)"
        if norm
        else ""
    )
    fix = CONSTANT_FIX
    if norm:
        fix = (
            f"if you clip the gradients' norm on purpose, declare clip_grad_norm={norm:.4g} (the "
            "twin then clips alike, as torch.nn.utils.clip_grad_norm_); if the learning rate "
            "changes on purpose, check with it constant; if neither, find what scales your steps"
        )
    if decl and steps[0] == 1 and not of(spec.opt.kwargs) and _momentum(spec):
        fix = (  # each step's lr times PyTorch's velocity: the lr outside it (review s23a F1)
            "if the decay is yours on purpose, declare it in PyTorch's form, which yours "
            f"is ({TORCH_NAMES.get(spec.opt.name, spec.opt.name)} with {torch_form(decl)}, the "
            "lr outside the velocity): "
            f"{declaration(decl)}, lr_outside=true (the default, false, is the nnfs book's and "
            "Keras's form, whose velocity holds each step's lr)"
        )
    elif decl and steps[0] == 1 and not of(spec.opt.kwargs):
        fix = (
            f"if the decay is yours on purpose, declare {declaration(decl)} ({described(decl)}) "
            "and the twin decays alike; if not, find what changes the learning rate between steps"
        )
    tol = 1e-9 if spec.dtype == "float64" else 1e-5  # float32 steps read their multipliers
    first = next(  # to about 1e-6: a scatter below that is no change (review s18b); a
        (  # first multiplier other than 1 parts at once (review s20a: "step 2" beside 0.1254
            o.step  # at step 1)
            for (o, _), m in zip(seq, mults, strict=True)
            if not math.isclose(
                m, mults[0] if math.isclose(mults[0], 1, rel_tol=tol) else 1, rel_tol=tol
            )  # fmt: skip
        ),
        seq[0][0].step,
    )
    declared = of(spec.opt.kwargs)
    if declared:  # the twin decays already: the learner's own lr against the declared one
        first = next((t for t, m in zip(steps, mults, strict=True) if abs(m - 1) > 1e-9), first)
        fix = _declared_decay_fix(mults, steps, declared, 1e-9 if spec.dtype == "float64" else 1e-5)
    return _schedule(
        seq,
        codec,
        first,
        f"your steps are {spec.opt}'s with the "
        + ("declared decayed " if declared else "")
        + f"learning rate times {shown} at {span}{form}: every parameter takes the same multiplier "
        "at each step",
        fix,
    )


def _shown(mults: list[float], seq: list, tol: float = 1e-9) -> tuple[str, str, int]:
    """The multipliers as said (a leading run of one value, to ``tol``, once, then where it
    changes), the steps they span, and the digits that tell them apart."""
    spread = max(abs(b - a) for a, b in zip(mults, mults[1:], strict=False)) or 1.0
    digits = max(4, min(15, 2 + math.ceil(-math.log10(spread))))  # enough to tell them apart
    same = next(
        (i for i, m in enumerate(mults) if not math.isclose(m, mults[0], rel_tol=tol)), len(mults)
    )
    lead = ""
    span = _span(seq[0][0].step, seq[-1][0].step)
    if same > 2:  # a run of one value first: say it once, then where it changes
        lead = f"{mults[0]:.{digits}g} at steps {seq[0][0].step}-{seq[same - 1][0].step}, then "
        span = _span(seq[same][0].step, seq[-1][0].step) if same < len(seq) else span
    rest = mults[same:] if same > 2 else mults
    more = ", ..." if len(rest) > 5 else ""
    return lead + ", ".join(f"{m:.{digits}g}" for m in rest[:5]) + more, span, digits


def _rounding(d: dict, A: dict, held: dict[str, str]) -> float:
    """The spread the rounding of stored weights gives a step's fitted multiplier, times its
    denominator: sqrt(sum eps^2 (A d)^2), eps of each parameter's storage dtype."""
    total = 0.0
    for k in d:
        eps = float(np.finfo(held.get(k, "float64")).eps)
        total += eps * eps * float(((A[k] * d[k]) ** 2).sum())
    return math.sqrt(total)


def _takes(s: float, d: dict, A: dict, P: dict, atol: float, rtol: float) -> bool:
    """Whether the step P -> A is ``s`` times the simulated step ``d`` in every parameter."""
    for k in d:
        step = s * d[k]
        allowed = atol * max(float(step.abs().max()), 1e-300) + rtol * A[k].abs()
        if not bool(((A[k] - P[k] - step).abs() <= allowed).all()):
            return False
    return True


def _span(a: int, b: int) -> str:
    return f"step {a}" if a == b else f"steps {a}-{b}"


def _declared_decay_fix(mults: list[float], steps: list[int], sched: Schedule, tol: float) -> str:
    """The fix where a schedule is declared: the twin's lr at step t is lr_at(lr, sched, t-1),
    so the learner's own is that times the multiplier. An inverse-time decay counted from 1 (lr
    / (1 + d t)), another schedule of a closed form, or neither."""
    d = sched.decay
    own = [m * lr_at(1.0, sched, t - 1) for m, t in zip(mults, steps, strict=True)]
    near = max(tol, 1e-4 * max(abs(m - 1) for m in mults))  # of the effect's own size: a
    # float64 Adam's multipliers read to 1e-8 beside departures of 1e-2 (review s19a)
    if (
        d
        and sched.gamma == 1.0
        and all(abs(o * (1 + d * t) - 1) <= near for o, t in zip(own, steps, strict=True))
    ):
        return (
            f"your decay counts the steps from 1 (lr / (1 + {d:g} t) at step t = 1, 2, ...), so "
            "even the first step is decayed; the declared decay (nnfs's, Keras's, PyTorch's "
            "Adagrad's) takes lr itself at the first step: decay with the steps taken before "
            f"this one, lr / (1 + {d:g} (t - 1)) (nnfs increments its counter after the update; "
            "a step count that Adam's bias correction shares stays from 1 there)"
        )
    form, decl = _form(own, steps, 6, tol)
    said = declaration(sched_decl(sched))
    if decl:
        return (
            f"your schedule is{form}, the declared one {said}: declare {declaration(decl)} if "
            "yours is meant, else find where your schedule's constants are set"
        )
    return (
        f"the twin schedules the lr as declared ({said}: {described(sched_decl(sched))}); find "
        "what else changes your learning rate between steps"
    )


def _schedule(seq: list, codec: Codec, first: int, evidence: str, fix: str) -> list[Finding]:
    """The ``lr_schedule`` finding on every parameter of the observed steps ``seq``."""
    names = codec.labels(sorted(seq[0][0].params, key=canonical_key))
    return [Finding("lr_schedule", names, None, first, evidence, fix)]


def _norm_clip(mults: list[float], seq: list) -> float:
    """Clipping by the global norm, g *= c / ||g|| when ||g|| > c: the multiplier times the
    step's whole gradient norm is one constant c wherever it is below 1 (c; 0 where not)."""
    norms = [math.sqrt(sum(float((v * v).sum()) for v in g.values())) for _, g in seq]
    clipped = [m * n for m, n in zip(mults, norms, strict=True) if m < 1 - 1e-9]
    if len(clipped) < 2 or max(clipped) - min(clipped) > 1e-6 * max(clipped):
        return 0.0
    return clipped[0]


def _momentum_decay(seq: list, spec: Spec, codec: Codec, atol: float, rtol: float) -> list[Finding]:
    """Under a declared momentum the steps of an lr decay are no multiples of the declared
    ones (the velocity carries earlier steps' lr): the inverse-time decay fitted on a log grid,
    then by golden section, ``lr_schedule`` where one k reproduces every post-step weight; also
    where another k is declared (review s28 r09: nnfs's counter advanced at each layer's update
    decays twice as fast as its declared decay)."""
    kw = dict(spec.opt.kwargs)
    if not kw.get("momentum") or seq[0][0].step != 1:
        return []
    declared = float(kw.get("lr_decay", 0.0))

    def excess(x: float) -> float:
        sim, worst = Sim(spec.opt.name, {**kw, "lr_decay": 10.0**x}), 0.0
        for obs, g in seq:
            P, A = to_tensors(obs.params), to_tensors(obs.after)
            Q = sim.step(P, to_tensors(g))
            for k in Q:
                allowed = atol * max(float((Q[k] - P[k]).abs().max()), 1e-300) + rtol * A[k].abs()
                worst = max(worst, float(((A[k] - Q[k]).abs() / allowed).max()))
        return worst

    xs = [-6.0 + 6.0 * i / 24 for i in range(25)]
    errs = [excess(x) for x in xs]
    i = min(range(25), key=errs.__getitem__)
    x = golden(excess, xs[max(i - 1, 0)], xs[min(i + 1, 24)], 40)[0]
    if excess(x) > 1.0 or min(x + 6.0, -x) < 1e-3:  # under a declared decay, no other k:
        return [] if declared else _momentum_mults(seq, spec, codec, atol, rtol)  # a form's
    k = 10.0**x
    if declared and abs(k - declared) <= 1e-3 * declared:
        return []  # the declared decay itself: what parts is something else
    said = f" where lr_decay={declared:g} is declared" if declared else ""
    fix = (
        f"if the decay is yours on purpose, declare lr_decay={k:.4g}; if not, find what "
        "changes the learning rate between steps"
    )
    n = round(k / declared) if declared else 0
    if n >= 2 and abs(k / declared - n) <= 1e-3 * n:
        fix = (
            f"your decay runs {n} times as fast as declared: its step counter advances {n} "
            "times a step (nnfs: iterations += 1 inside update_params, called once per layer, "
            "where post_update_params advances it once a step); advance it once a step, or "
            f"declare lr_decay={k:.4g} if yours is meant"
        )
    return _schedule(
        seq,
        codec,
        2,
        f"your steps are {spec.opt}'s with the learning rate decayed as lr / (1 + {k:.4g} "
        f"(t-1)){said} at steps {seq[0][0].step}-{seq[-1][0].step}, the velocity holding each "
        "step's lr (v = mu v - lr_t g: the nnfs book's and Keras's momentum with decay)",
        fix,
    )


TORCH_NAMES = {"sgd": "SGD", "rmsprop": "RMSprop"}
CONSTANT_FIX = (
    "the twin keeps the declared lr constant: if the schedule is yours on purpose, check with "
    "it switched off (a constant lr) and keep it for training; if not, find what changes the "
    "learning rate between steps"
)
SCHEDULED_FIX = (
    "the twin schedules the lr as declared: find what else changes your learning rate between steps"
)


def _momentum(spec: Spec) -> bool:
    return bool(spec.opt.kwargs.get("momentum"))


MOMENTUM_FORMS = {
    "keras": "the velocity holding each step's lr (v = mu v - lr_t g, w += v: Keras's and the "
    "nnfs book's momentum)",
    "torch": "PyTorch's velocity (b = mu b + g, w -= lr_t b)",
}


def _momentum_mults(seq: list, spec: Spec, codec: Codec, atol: float, rtol: float) -> list[Finding]:
    """Any schedule under plain momentum (review s15b: an exponential decay, a staircase): one
    multiplier s_t per step read off the learner's displacements in either velocity form,
    ``lr_schedule`` where one form takes every step and the s_t are not all one."""
    kw = dict(spec.opt.kwargs)
    if kw.get("nesterov") or kw.get("dampening") or kw.get("weight_decay"):
        return []
    mu, lr = float(kw["momentum"]), float(kw.get("lr", 1e-3))
    for form, said in MOMENTUM_FORMS.items():
        mults, prev, b = [], None, None
        for obs, g in seq:
            P, A, G = to_tensors(obs.params), to_tensors(obs.after), to_tensors(g)
            e = {k: A[k] - P[k] for k in G}
            if form == "keras":  # e = mu e_prev - lr s g
                r = {k: e[k] - (mu * prev[k] if prev else 0.0) for k in G}
                d = {k: -lr * G[k] for k in G}
            else:  # e = -lr s b, b = mu b + g
                b = {k: G[k] + (mu * b[k] if b else 0.0) for k in G}
                r, d = e, {k: -lr * b[k] for k in G}
            den = sum(float((v * v).sum()) for v in d.values())
            s = sum(float((r[k] * d[k]).sum()) for k in G) / den if den else math.nan
            if not math.isfinite(s) or not _takes(s, d, {k: P[k] + r[k] for k in G}, P, atol,
                                                  rtol):  # fmt: skip
                break
            mults.append(s)
            prev = e
        else:
            if max(mults) - min(mults) <= 1e-6 * max(abs(m) for m in mults):
                return []  # one constant: another lr, said elsewhere
            if any(abs(m) <= 1e-6 for m in mults):  # a step that moves nothing: no schedule
                return []
            full = max(len(o.rows) for o, _ in seq)  # a short batch's own factor is none
            on_full = [m for (o, _), m in zip(seq, mults, strict=True) if len(o.rows) == full]
            if max(on_full) - min(on_full) <= 1e-6 * max(abs(m) for m in on_full):
                return []  # (review s48 F4: 1/B on the short batch read as a schedule)
            tol = 1e-9 if spec.dtype == "float64" else 1e-5
            steps = [o.step for o, _ in seq]
            declared = of(kw)  # the multipliers over the declared schedule's, said
            rel = [m / lr_at(1.0, declared, t - 1) for m, t in zip(mults, steps, strict=True)]
            if max(rel) - min(rel) <= 1e-6 * max(abs(m) for m in rel):
                return []  # the declared schedule in the other velocity form: a form, said
            shown, span, digits = _shown(rel, seq, tol)
            tail, _ = _form(rel, steps, digits, tol)
            _, decl = _form(mults, steps, digits, tol)  # the learner's whole schedule
            first = next((t for t, m in zip(steps, rel, strict=True) if abs(m - 1) > 1e-9), 1)
            fix = SCHEDULED_FIX if declared else CONSTANT_FIX
            if decl and steps[0] == 1:
                outside = ", lr_outside=true" if form == "torch" else ""
                fix = (
                    f"if the schedule is yours on purpose, declare {declaration(decl)}{outside} "
                    f"({described(decl)}) and the twin decays alike; if not, find what changes "
                    "the learning rate between steps"
                )
            return _schedule(
                seq,
                codec,
                first,
                f"your steps are {spec.opt}'s with the "
                + ("declared decayed " if declared else "")
                + f"learning rate times {shown} at {span}{tail}, {said}: every parameter "
                "takes the same multiplier at each step",
                fix,
            )
    return []
