"""When the code is right but training fails: is it the model?

``criteria`` says whether outputs fit the data (accuracy for class targets, R^2 for regression).
The probe trains the twin from the learner's initial weights with the declared optimizer (its
batches reshuffled at each pass after the first); if it fits, training works. Otherwise the
twin is trained with a strong optimizer (Adam, lr 0.03, then 0.01, up to 2000 full-batch
steps): if that fails too the finding is ``capacity``, and ``no_bias`` when
the strong run with a (zero-initialised) bias in every layer fits. Units are inspected at the
start and the end: ``dead_units`` (ReLU with z <= 0 on every sample), ``saturation`` (sigmoid
|z| > 6, tanh |z| > 3.5 on every sample), ``symmetric_init`` (hidden units with identical
incoming and outgoing weights stay identical). When such a cause is there at the start and
the strong run fails, it is run again from a fresh random initialisation: if that fits, the
cause is the initialisation (re-initialise) and no ``capacity`` is claimed, nor where
identical inputs carry different targets (``contradictory_targets``, a note beside the rest
where the strong run stays more than two rows below that bound); where the strong run fits,
and so does the declared optimizer from the same weights (longer, or at a larger lr), the start
is no cause: ``slow_training``. Before ``capacity`` is claimed the declared run goes on for
``LONGER`` times its budget (with a timeout, in at most ``LONGER_TIME`` times the budget's wall
time and a third of the check's time left), then the strong run (``strong_longer``): if either
fits, ``slow_training``; where a wider network does no better on rows it did not train on,
``noisy_targets`` (``heldout``).
Before any of these, ``remedies`` names the causes that leave the network as it is. Every run
keeps within the check's time (one cut short is no evidence: training is then not assessed).
Findings come in the order of their fix: data, bias, initialisation, lr, ``capacity`` last.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from nnparity.scratch import Spec, build

from .codec import Codec
from .contradiction import contradiction
from .criteria import criterion
from .depth import depth_reading
from .heldout import few_left, noisy_run, too_few
from .many_starts import train_many
from .remedies import (
    RANGE,
    STRONG_STEPS,
    fresh_start,
    no_bias,
    raised_lr,
    range_note,
    remedies,
    slower,
    target_range,
)
from .result import Finding, Training
from .small_start import clip_binds, scaled, small_start
from .strong_longer import below_bound, longer_strong
from .torch_side import Reference, Trained
from .unit_states import init_scale, init_small, units

INIT_CAUSES = ("dead_units", "saturation", "symmetric_init", "init_scale")
STRONG = "adam(lr=0.03)"


def _strong(name: str, wd: float) -> str:
    """The strong run, with the declared optimizer's weight decay kept: AdamW's decoupled for
    adamw, else the coupled L2 every other optimizer's ``weight_decay`` is (review s23b F6:
    dropping it made a decay too strong to fit read as slow_training)."""
    if not wd:
        return STRONG
    return f"{'adamw' if name == 'adamw' else 'adam'}(lr=0.03,weight_decay={wd:g})"


GENTLE = "adam(lr=0.01)"  # tried too before a run's failure is put on the network
LONGER = 4  # before capacity is claimed, the declared run continues for 4 more budgets,
LONGER_TIME = 2.0  # in at most twice the wall time the budget took (the check's timeout)
DEADLINE: float | None = None  # the check's wall-time limit (time.monotonic()), set by the
# sandbox's checker process: the longer run takes at most a third of what remains of it
DATA_CAUSES = ("target_range", "input_scale", "target_scale")
GROWN = ("dead_units", "saturation")  # unit states that a run can bring about
OUT_OF_TIME = (
    "the training probe ran out of the check's time (the code verdict stands): run the check "
    "with a longer --timeout to assess training"
)


def probe(
    ref: Reference,
    codec: Codec,
    P0: dict,
    X: np.ndarray,
    y: np.ndarray,
    batches: list,
    steps: int,
) -> tuple[Training, list[Finding]]:
    """(the training outcome with its criterion and what was reached, findings). See the
    module docstring."""
    spec = ref.spec
    crit = criterion(spec, y)
    fits, score = crit.fits, crit.score
    cut: list[str] = []  # runs stopped by the check's time: their "no fit" is no evidence

    def train(s: Spec, P: dict, b: list, n: int, f: Any, seconds: float | None = None) -> Any:
        left = None if DEADLINE is None else (DEADLINE - time.monotonic()) / 3
        limit = left if seconds is None else seconds if left is None else min(seconds, left)
        if limit is not None and limit <= 0:
            cut.append(str(s.opt))
            return Trained([np.nan], P, np.zeros(0), False, 0)
        run = ref.train(s, P, b, n, codec.frozen, f, seconds=limit)
        if seconds is None and not run.fit and run.steps < n and np.isfinite(run.losses[-1]):
            cut.append(str(s.opt))
        return run

    def many(s: Spec, starts: list, b: list, n: int, f: Any) -> list | None:
        """Runs from every start at once (``many_starts``), or None (then one at a time)."""
        left = None if DEADLINE is None else (DEADLINE - time.monotonic()) / 3
        if left is not None and left <= 0:
            return None  # (one at a time: each run says it was cut)
        runs = train_many(ref, s, starts, b, n, codec.frozen, f, seconds=left)
        for run in runs or ():
            if not run.fit and run.steps < n and np.isfinite(run.losses[-1]):
                cut.append(str(s.opt))
        return runs

    t0 = time.monotonic()
    declared = train(spec, P0, batches, steps, fits)
    spent = time.monotonic() - t0  # the longer run below gets at most LONGER_TIME times it
    longer_time = LONGER_TIME * spent if DEADLINE is not None else None  # (with a timeout)
    if cut:
        return Training("not_assessed", crit.text, OUT_OF_TIME), []
    reached = f"{score(declared.out)} after {declared.steps} step(s) of {_with_lr(spec.opt)}"
    if declared.fit:
        return Training("fits", crit.text, reached), []
    failed = Training("model_limitation", crit.text, reached)
    bound = clip_binds(ref, codec, P0, batches, steps, fits, score, reached, _left(),
                       declared.params, X, y)  # fmt: skip
    if bound:
        return failed, [bound]  # the declared clip, not the network
    rs0 = ref.run(P0, X, y)
    found = init_scale(spec, P0, codec) + units(rs0, spec, P0, "at the start", codec)
    rs1 = ref.run(declared.params, X, y)
    seen = {(f.code, f.layer) for f in found}
    found += [
        f
        for f in units(rs1, spec, declared.params, f"after {declared.steps} steps", codec)
        if (f.code, f.layer) not in seen
    ]
    wd = float(spec.opt.kwargs.get("weight_decay", 0.0))  # the declared decay stays on
    strong_spec = spec.replace(opt=_strong(spec.opt.name, wd))
    sopt = strong_spec.opt
    strong = train(strong_spec, P0, [(X, y)], STRONG_STEPS, fits)
    if cut:
        return Training("not_assessed", crit.text, OUT_OF_TIME), []
    if (rng := target_range(spec, y)) is not None:  # the best outputs in range fit: a note
        found.append(rng if not fits(np.clip(y, *RANGE[spec.activations[-1].name])) else  # (s59d
                     range_note(rng))  # fmt: skip
        rng = None if found[-1].kind == "note" else rng
    l0, l1 = rs0.loss, rs1.loss  # on all the data: a batch's own loss is one batch's
    run = (
        f"PyTorch with {spec.opt} from your weights, {declared.steps} steps: loss "
        f"{l0:.4g} -> {l1:.4g}, {score(declared.out)}"
    )
    if not np.isfinite(l1) or l1 > 1.5 * l0:
        found.append(
            Finding(
                "learning_rate",
                (),
                None,
                None,
                f"{run}: the loss grows",
                "lower the learning rate",
                "limitation",
            )
        )
    init = [f for f in found if f.code in INIT_CAUSES and f.evidence.startswith("at the start")]
    if not strong.fit and init:  # is it the initialisation? the same run from fresh weights
        fresh = build(spec).init_params(seed=0)
        fresh.update({n: np.zeros_like(fresh[n]) for n in codec.frozen})
        again = train(strong_spec, fresh, [(X, y)], STRONG_STEPS, fits)
        if again.fit:
            strong = again
            more = (
                f"; from a fresh random initialisation (PyTorch's default) the same {sopt} run "
                f"fits in {again.steps} steps: {score(again.out)}"
            )
            found = [
                replace(f, evidence=f.evidence + more, hint="re-initialise: " + f.hint)
                if f in init
                else f
                for f in found
            ]
    if not strong.fit and (ref.l2 or wd):  # is it the declared penalty? the run without it
        free = Reference(spec, codec.frozen, 0.0, ref.softmax_out, 0.0, ref.clip)
        unpen = free.train(spec.replace(opt=STRONG), P0, [(X, y)], STRONG_STEPS, codec.frozen,
                           fits, seconds=_left())  # fmt: skip
        what = f"l2 = {ref.l2:g}" if ref.l2 else f"weight_decay = {wd:g}"
        if unpen.fit:
            return failed, [  # units that died under the penalty follow from it
                *[f for f in found if f.code not in GROWN or f.evidence.startswith("at the")],
                Finding(
                    "regularization_strength",
                    (),
                    None,
                    None,
                    f"{run}; {sopt} with the declared {what} cannot fit either "
                    f"({score(strong.out)}), and without the penalty it fits in {unpen.steps} "
                    f"steps ({STRONG}): {score(unpen.out)}",
                    f"the penalty keeps the weights too small to fit every training point: "
                    f"lower {what.split(' ')[0]} if that is the aim (with a penalty, not fitting "
                    "exactly may be intended)",
                    "limitation",
                ),
            ]
    clash = contradiction(X, y, crit.text.startswith("accuracy")) if not strong.fit else None
    slack = max(2 / len(X), 0.01) if crit.text.startswith("accuracy") else 0.05  # (s32 F5:
    near = (  # 289/300 against a bound of 298 was "near", and the 9 rows said to be the data's)
        clash is not None and crit.value is not None and crit.value(strong.out) >= clash[1] - slack
    )
    if clash is not None:  # the data's; far below its bound, a note beside the rest (s33 F7)
        found.append(clash[0] if near else replace(clash[0], kind="note"))
    bounded = fits if clash is None else (lambda out: crit.value(out) >= clash[1] - 1e-12)
    if not near and rng is None:  # a cause that leaves the network as it is?
        fixed = remedies(train, spec, strong_spec, P0, X, y, batches, steps, STRONG_STEPS,
                         strong.fit, found, declared.losses)  # fmt: skip
        if fixed:  # a run from your own weights fits: their units' state, at the start or
            kept = [f for f in found if f.code not in INIT_CAUSES]  # grown, is no cause (s24b
            # F5: another lr; review s59d F7: the inputs' and targets' scales)
            grows = [f for f in kept if f.code == "learning_rate"]  # the loss grows, too
            if grows and fixed[0].code == "learning_rate":
                kept.remove(grows[0])
                fixed = [replace(fixed[0], evidence=f"{grows[0].evidence}; {fixed[0].evidence}")]
            return failed, _ordered(kept + fixed)
    if near:  # at the data's own bound: units that died on the way are no limitation
        found = [f for f in found if f.code not in GROWN or f.evidence.startswith("at the")]
        said = f"{run}; {sopt}"
        found += below_bound(train, spec, declared, P0, batches, steps, bounded, score,
                             longer_time, crit.value, clash[1] - slack, said)  # fmt: skip
    longer = None
    if not strong.fit and not near and rng is None:  # slow, not unable? LONGER times longer
        longer = train(spec, declared.params, batches, LONGER * steps, fits,
                       seconds=longer_time)  # fmt: skip
        longer = longer if longer.fit else None
    if longer is not None:
        found.append(
            Finding(
                "slow_training",
                (),
                None,
                None,
                f"{run}; {sopt} for {strong.steps} steps reaches {score(strong.out)}, but the "
                f"same {spec.opt} run on for {longer.steps} more steps fits: {score(longer.out)}",
                f"train longer ({steps + longer.steps} steps fit; where your own program trains "
                f"that long, --probe-steps {steps + longer.steps} says so), or raise the lr",
                "limitation",
            )
        )
    elif (
        not strong.fit
        and not near
        and rng is None
        and not cut
        and (gentle := train(spec.replace(opt=GENTLE), P0, [(X, y)], STRONG_STEPS, fits)).fit
    ):  # a step too large for this surface, not a network too small (review s15b)
        up = raised_lr(train, spec, P0, batches, steps, fits)  # the declared one, faster?
        found.append(
            Finding(
                "slow_training",
                (),
                None,
                None,
                f"{run}; {sopt} for {strong.steps} steps reaches {score(strong.out)}, but "
                f"{GENTLE} from the same weights fits in {gentle.steps} steps: "
                f"{score(gentle.out)}"
                + (
                    f"; so does {spec.opt} at lr = {up[0]:g}, in "
                    f"{up[1].steps} steps: {score(up[1].out)}"
                    if up
                    else ""
                ),
                f"raise the learning rate (lr = {up[0]:g} fits)"
                if up
                else "use momentum or Adam: plain SGD at this learning rate does not get there"
                if spec.opt.name == "sgd" and not spec.opt.kwargs.get("momentum")
                else f"{GENTLE} gets there from your weights: try it, or train longer",
                "limitation",
            )
        )
    elif (
        not strong.fit
        and not near
        and rng is None
        and not cut
        and (fixed := fresh_start(train, spec, strong_spec, X, y, STRONG_STEPS, codec.frozen, many))
    ):
        kept = [f for f in found if f.code not in GROWN or f.evidence.startswith("at the")]
        return failed, _ordered(kept + (scaled(fixed[0], init_small(spec, P0, codec)) or fixed))
    elif (
        not strong.fit
        and not near
        and rng is None
        and not cut
        and (noisy := noisy_run(train, spec, codec, X, y, crit, declared, strong))
    ):  # the rest is the data's noise, not the network's size (review s16c)
        found.append(noisy)
    elif not strong.fit and not near and rng is None and cut:
        return Training("not_assessed", crit.text, OUT_OF_TIME), found
    elif (
        not strong.fit
        and not near
        and rng is None
        and (
            deep := depth_reading(
                spec,
                rs0,
                f"{run}; {sopt} cannot fit either: {score(strong.out)}",
                codec.label,
                X,
                y,
                fits,
            )
        )  # fmt: skip
    ):  # more units or layers cannot help here (review s19b)
        found.append(deep)
    elif not strong.fit and not near and rng is None and (later := longer_strong(
        train, strong_spec, P0, X, y, STRONG_STEPS, bounded, score, run, _left())):  # fmt: skip
        found.append(later)
    elif not strong.fit and not near and rng is None:
        found.append(
            Finding(
                "capacity",
                (),
                None,
                None,
                f"{run}; {sopt} for {strong.steps} full-batch steps from the same weights cannot "
                f"fit either: {score(strong.out)} (nor {GENTLE})",
                "the network cannot represent this data from here: add units, layers or biases"
                + too_few(X)
                + few_left(X, crit.value(strong.out) if crit.text.startswith("accuracy") else None),
                "limitation",
            )
        )
        if codec.frozen or not spec.bias:  # would a bias in every layer fit?
            found += no_bias(ref, strong_spec, P0, codec.frozen, X, y, fits, score, _left())
    elif strong.fit and not any(f.code == "learning_rate" for f in found):
        cause = any(  # the start's state (one budget more is its test); units that died
            f.code in INIT_CAUSES and f.evidence.startswith("at the start")  # during the run
            for f in found  # are no cause where the run on for four budgets fits (s22b)
        )
        said, hint, declared_fits = slower(train, spec, declared.params, P0, batches, steps,
                                           fits, score, longer_time, 1 if cause else 4)  # fmt: skip
        if cause and not declared_fits:
            return failed, _ordered(found)  # the start's state, with nothing to show otherwise
        if not declared_fits and (small := small_start(train, spec, P0, batches, steps, fits,
                                                       score, codec)):  # fmt: skip
            return failed, _ordered([f for f in found if f.code not in INIT_CAUSES] + small)
        found = [f for f in found if f.code not in INIT_CAUSES]  # fits from these weights
        found.append(
            Finding(
                "slow_training",
                (),
                None,
                None,
                f"{run}; {sopt} from the same weights fits in {strong.steps} steps: "
                f"{score(strong.out)}{said}",
                hint,
                "limitation",
            )
        )
    return failed, _ordered(found)


def _ordered(found: list[Finding]) -> list[Finding]:
    """In the order of their fix: the data first, the bias, the start, the rest, capacity."""
    order = {**dict.fromkeys(DATA_CAUSES, 0), "no_bias": 1, **dict.fromkeys(INIT_CAUSES, 2),
             "capacity": 4}  # fmt: skip
    # units that died or saturated during the run are no cause a run shows: the growing
    # loss's consequence (review s23b F5: "scale the initial weights down" at lr 1.2), or beside
    # the data's noise, the network's size or a slow run (review s59d F1: the nnfs spiral's
    # dead units, where leaky_relu and a lower lr fit no better); the start's state stays
    found = [f for f in found if f.code not in GROWN or f.evidence.startswith("at the")]
    return sorted(found, key=lambda f: order.get(f.code, 3))


def _left() -> float | None:
    """A third of what remains of the check's time (None: no deadline)."""
    return None if DEADLINE is None else max((DEADLINE - time.monotonic()) / 3, 0.0)


def _with_lr(opt: Any) -> str:
    """The optimizer as declared, with its learning rate where the default gave it: "sgd" is
    said "sgd(lr=0.001)", so a fit missed at a small default lr shows why."""
    from nnparity.scratch import optimizers

    kw = dict(opt.params)
    if "lr" in kw or opt.name not in optimizers:
        return str(opt)
    lr = optimizers[opt.name].defaults.get("lr")
    if lr is None:
        return str(opt)
    inner = ", ".join([f"lr={lr:g}", *(f"{k}={v}" for k, v in kw.items())])
    return f"{opt.name}({inner})"
