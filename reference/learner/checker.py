"""``check``: run a learner's network and its PyTorch twin from the same weights, step by step,
and say whether they match, and if not, where first and why.

Each step starts both sides from the learner's current weights (resync): the twin's forward
output, loss and gradients at those weights are compared with the learner's; when the learner
takes its own step from its own gradients, its post-step weights are compared with the declared
torch optimizer fed with those gradients. Tolerances are ``nnparity.reference.tolerance``'s resync
table (implied gradients add their round-off, 4 eps |w| / lr) with each element's round-off
allowance (``allowance``); a float32 learner gets the float32 tolerance and the parity engine's
float64-oracle rule (ten times it let a 1e-4 relative error match). Verdict: mismatches before
any NaN -> ``implementation_bug``; agreement, then NaN where PyTorch stays finite ->
``numerical_instability``; agreement throughout (or a NaN PyTorch reaches too) -> hygiene, then
``match``. The second answer, ``training``, comes from the probe (``limitations``): ``fits`` or
``model_limitation``, judged by ``criteria``; ``not_assessed`` without targets, for a
forward-only adapter, with ``probe=False``, or while the code does not match.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nnparity.reference.compare import Record
from nnparity.reference.threads import limited
from nnparity.reference.tolerance import Tolerance, tolerance_for
from nnparity.scratch import build

from .accumulated import accumulated, refusal
from .adapters import Adapter
from .after_steps import after_steps
from .allowance import Allowance, overflowed, unjudged
from .call_order import with_forward_order
from .clip_decl import clip_not_applied
from .clip_form import clip_form
from .codec import Codec
from .coverage import partly_unmoved, stuck_explains, unmoved, unseen
from .crash import crash_after
from .descent import negated
from .explain import HYPOTHESIS_TOL, diagnose
from .fresh_steps import fresh_steps
from .instability import (
    NEGATIVE_ROOT,
    backward_only,
    diverges_finding,
    first_nonfinite,
    nonfinite_finding,
    update_made,
)
from .output_form import late_clip, output_form
from .pairing import mispaired
from .paths import LearnerError, put
from .probe_run import probe_from, twin_free
from .result import CheckResult, Finding, Training
from .row_order import (
    batches_of,
    ignores_rows,
    ignores_rows_note,
    in_rows,
    one_pass,
    reordered,
    rows_at,
)
from .runner import LearnerCrash, Obs, Runner
from .saturation import saturated_step
from .stale_update import stale_update
from .step_alone import step_alone
from .still import still_saturated
from .sutskever import watch_form
from .table import Tolerances, loss_terms, mixed_text, param_table, records_of, terms_of
from .targets import learner_data
from .torch_side import Reference, RefStep
from .wide import fresh_forward, wide_forward

# torch.testing.assert_close's float16 defaults (1e-3, 1e-5) hold one operation; a hand-written
# float16 forward and backward chain many, each rounding at eps = 9.8e-4: ten times that
FLOAT16 = Tolerance(rtol=1e-2, atol=1e-3)


def check(
    adapter: Adapter,
    X: Any = None,
    y: Any = None,
    *,
    steps: int = 10,
    batch_size: int | None = None,
    watch: int = 300,
    probe: bool = True,
    probe_steps: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> CheckResult:
    """Hold ``adapter``'s network to PyTorch for ``steps`` steps on (X, y) (the adapter's own
    ``data`` when not given), batches of ``batch_size`` rows in order (default: the declared
    one, else the whole data set). While everything agrees, keep training and comparing up to
    step ``watch`` (a NaN often comes late). ``probe``: when the code matches (or turns
    non-finite alone), also test whether the model fits the data when PyTorch trains it the
    declared way from the learner's weights (the ``training`` answer), for up to
    ``probe_steps`` steps (default: the budget of ``probe_budget``). The learner's parameters
    are put back as they were at the end."""
    if adapter.forward is None and adapter.grads is None and adapter.step is None:
        raise LearnerError(
            "your adapter gives nnparity none of your functions to call (forward, grads or "
            "step), so nothing can be compared: build it with nnparity.from_gradients, "
            "from_layers, from_step, from_forward or from_loss"
        )
    if X is None:
        if adapter.data is None:
            raise LearnerError("no data: pass X and y, or give the adapter data=(X, y)")
        X, y = adapter.data
    if steps < 1:
        raise LearnerError(f"steps must be >= 1, got {steps}")
    if batch_size is not None and batch_size < 1:
        raise LearnerError(f"batch_size must be >= 1, got {batch_size}")
    if adapter.layered is not None:  # conv, pooling, batchnorm, dropout: layered_check
        from .layered_check import check_layered

        with limited(1):
            return check_layered(adapter, X, y, steps=steps, batch_size=batch_size, rtol=rtol,
                                 atol=atol)  # fmt: skip
    saved = adapter.read_raw()
    try:
        with limited(1):
            return _check(adapter, X, y, steps, batch_size, watch, probe, probe_steps, rtol, atol)
    finally:  # the learner's network as it was handed over (its optimizer state aside)
        for path, a in zip(adapter.paths, saved, strict=True):
            put(adapter.root, path, a)


@dataclass
class _Run:
    """What the step loop saw: per step (observation, twin step, expected update)."""

    history: list[tuple[Obs, RefStep, dict | None]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    crash: Finding | None = None
    nan_step: int | None = None
    notes: list[Finding] = field(default_factory=list)
    ignored: list[Finding] = field(default_factory=list)  # the forward keeps its own rows


def _run(
    adapter: Adapter,
    runner: Runner,
    ref: Reference,
    codec: Codec,
    X: np.ndarray,
    y: np.ndarray,
    batches: list[np.ndarray],
    steps: int,
    watch: int,
    tols: Tolerances,
) -> _Run:
    """Step the learner from its own weights; at each step hold it to the twin there."""
    spec = ref.spec
    tol = tols.of(None)  # the program's: its narrowest dtype's
    ref.reset_shadow()  # a run again starts the twin's optimizer afresh
    run = _Run()
    P = adapter.read()
    stateless = spec.opt.name == "sgd" and not spec.opt.kwargs.get("momentum")
    # a step that shows no gradient is run twice only after the steps compared (a hidden
    own = stateless and adapter.grads is not None  # state, momentum, would advance twice)
    ref64 = ref.like(spec.replace(dtype="float64")) if spec.dtype == "float32" else None
    allow = Allowance(spec, codec.frozen, ref.l2)
    narrow = None  # a mixed learner's narrow round-off, for what parts from the wide twin
    if tols.program == "float32" and spec.dtype == "float64":  # (float16's envelope is
        narrow = Allowance(spec, codec.frozen, ref.l2, dtype=tols.program)  # looser, not used)
    wide = (tol.rtol * 10, tol.atol * 10)
    agree = True  # every record so far passed (kept as a flag: the watch runs many steps)
    for k in range(1, max(steps, watch) + 1):
        if k > steps and not agree:
            break  # past the compared steps, watching goes on only while everything agrees
        rows = rows_at(batches, k)  # one batch: in another order at even steps (row_order.py)
        try:
            obs = runner.observe(k, P, rows, twice=k == 1 and (adapter.step is None or own))
        except LearnerCrash as e:
            run.crash = e.finding
            break
        rs = ref.run(P, X[rows], y[rows])
        refs = [ref, ref64]  # (their output form: read at step 1, a safe-log clip later too)
        form = output_form(obs, rs, refs, y[rows]) if k == 1 else late_clip(obs, rs, refs, tol)
        if form:
            rs = ref.run(P, X[rows], y[rows])  # compared from here on in the form shown
            run.notes.append(form)
        if k == 1 and len(rows) == 1 and len(X) > 1:  # one row a step: the forward on many
            runner.hygiene += wide_forward(runner, ref, P, X, y, tol, HYPOTHESIS_TOL[spec.dtype])
        first = batches[0]
        if k > 1 and reordered(rows, first) and ignores_rows(obs.out, rs.out, rows, first, *wide):
            obs.out = in_rows(obs.out, rows, first)  # it kept step 1's order: said in a note
            run.ignored = run.ignored or [ignores_rows_note(k)]
        o = ref64.run(P, X[rows], y[rows]) if ref64 is not None else None
        expected, ubound = None, None
        gbound = allow.lazy_grads(P, X[rows], y[rows])  # round-off allowances (allowance.py)
        nbound = narrow and narrow.lazy_grads(P, X[rows], y[rows])
        if obs.grads is not None and not obs.implied:  # the torch optimizer on its gradients
            own = ref.update(P, obs.grads, obs.after)
            expected, nxt = (own, obs.after) if obs.after is not None else (None, own)
        elif obs.after is not None:
            nxt = obs.after
            expected = None if obs.implied else ref.update(P, rs.grads, obs.after)
            if expected is not None:  # from PyTorch's gradients: the learner's are within R_g
                allow.push(P, rs.grads, X[rows], y[rows])
                ubound = allow.update
        else:  # forward only: fresh weights (scratch's initializer, seed k) at each step
            nxt = build(spec).init_params(seed=k)
            nxt.update({n: np.zeros_like(nxt[n]) for n in codec.frozen})
        if obs.after is None and codec.precision != spec.dtype:  # as its narrower arrays hold
            nxt = codec.to_canonical(codec.from_canonical(nxt), "float64")  # them: rounded
        terms, logs = terms_of(rs, y[rows]), loss_terms(spec.loss, spec.sizes[-1], len(rows))
        recs = records_of(obs, rs, expected, tols, str(spec), codec.frozen, o, terms, gbound,
                          ubound, nbound, logs)  # fmt: skip
        if k == 1 and all(r.passed for r in recs if r.stage == "forward"):  # at fresh weights
            runner.hygiene += fresh_forward(runner, ref, P, X, y, tol,
                                            HYPOTHESIS_TOL[spec.dtype], codec.frozen)  # fmt: skip
        if k > 1 and (over := overflowed(recs, gbound, rs)):  # beyond any bound
            run.notes.append(unjudged(k, over[0], codec.label(over[1]), rs))
            break
        agree = agree and all(r.passed for r in recs)
        run.records += recs
        run.history.append((obs, rs, expected))
        if k > steps + 3:  # watching: an earlier step's activations are examined no more
            run.history[k - 4][1].a, run.history[k - 4][1].z = [], []  # (a[0] is X's rows)
        if first_nonfinite(obs, codec, rs):
            run.nan_step = k
            break
        P = nxt
    if stateless and not own and adapter.step is not None and run.history and not run.crash:
        last = run.history[-1][0]
        try:
            runner.observe_twice(last.step, adapter.read(), last.rows)  # from its own state
        except LearnerCrash as e:
            run.crash = e.finding
    return run


CONSEQUENCES = ("unexplained_mismatch", "optimizer_update_mismatch", "lr_schedule")


def _check(
    adapter: Adapter,
    X: Any,
    y: Any,
    steps: int,
    batch_size: int | None,
    watch: int,
    probe: bool,
    probe_steps: int | None,
    rtol: float | None,
    atol: float | None,
) -> CheckResult:
    codec = adapter.bind()
    conv = adapter.conventions
    spec = conv.spec(codec.dtype)
    if adapter.style == "forward":  # outputs alone are compared: targets are not read (and
        y = None  # class labels beside no declared loss are no mse targets: review s19b)
    targets = y is not None
    X, y, (X_own, y_own) = learner_data(spec, X, y)
    if len(X) == 0:
        raise LearnerError("X has no rows: give at least one sample")
    ref = Reference(spec, codec.frozen, conv.l2, conv.softmax_out, conv.l2_bias, conv.clip)
    runner = Runner(adapter, X_own, y_own)
    bs = min(batch_size or conv.batch_size or len(X), len(X))
    batches, early = batches_of(len(X), bs, steps)  # a short last batch: second
    P0 = adapter.read()
    batches, watch, unreached = one_pass(batches, steps, watch * (adapter.style != "forward"))
    base = tolerance_for(spec.dtype, 1, "resync", rtol, atol)
    prec = codec.precision  # a mixed or float16 learner: each array at its own dtype's
    by = {"float16": FLOAT16, "float32": tolerance_for("float32"), "float64": base}
    tols = Tolerances(
        {**by, spec.dtype: base} if rtol is None else dict.fromkeys(by, base),
        spec.dtype,
        prec,
        codec.held_in(),
    )

    def judged(run: _Run) -> tuple[list[Record], list[Finding]]:  # failing records, findings
        n = run.nan_step
        bad = [r for r in run.records if not r.passed and (n is None or r.step < n)]
        return bad, diagnose(bad, run.history, ref, codec, X, y, spec, n, prec) if bad else []

    run = _run(adapter, runner, ref, codec, X, y, batches, steps, watch, tols)
    nan_step = run.nan_step
    bad, diag = judged(run)
    if bad and any(ref.clip):  # a declared clip the steps do not take
        diag = clip_not_applied(run.history, ref, codec, base.atol, base.rtol) or diag
    if not (run.crash or nan_step or runner.hygiene) and all(f.kind == "note" for f in diag):
        runner.hygiene += fresh_steps(adapter, runner, ref, codec, X, y, batches, tols, _run, run)
    sat = None if bad or run.crash or nan_step or runner.hygiene else saturated_step(  # 1 - a
        adapter, runner, ref, codec, P0, X, y, batches, tols, _run)  # fmt: skip
    diag = watch_form(diag, runner, ref, X, y, batches, watch, run.history, HYPOTHESIS_TOL[prec])
    args = (ref, codec, X, y, batches, steps, watch, tols)
    if again := negated(diag, run.history, adapter, runner, _run, judged, *args):  # descent
        run, runner, bad, diag = again
        nan_step = run.nan_step
    if alone := step_alone(bad, runner.hygiene, adapter, runner, _run, judged, *args):
        run, runner, adapter = alone  # grads= and step= each ran a backward pass: step alone
        bad, diag, nan_step = [], [], run.nan_step
    if all(f.kind == "note" for f in diag) and not (run.crash or nan_step or runner.hygiene):
        full = (batch_size or conv.batch_size or 0) >= len(X)  # (notes alone too: s38 F4)
        after_steps(adapter, runner, _run, ref, codec, X, y, batches, tols, history=run.history,
                    full=full)  # fmt: skip
    if pair := mispaired(diag, bad, adapter, runner, _run, ref, codec, X, y, batches, tols):
        diag = [pair]  # X or y reordered alone: a random one is nondeterministic too
        runner.hygiene = [f for f in runner.hygiene if f.code != "nondeterministic"]
    if bad and runner.unmoved == 1:  # every k-th call alone moves: accumulation, refused
        rt, at = HYPOTHESIS_TOL[prec]
        if acc := accumulated(run.history, spec, at, rt):
            raise LearnerError(refusal(*acc, str(spec.opt)))
    named = bool(diag) and diag[0].code == "optimizer_update_mismatch"  # reproduced, stay too
    if bad and (still := still_saturated(run.history, bad, diag, ref, codec, X, y)):
        diag = [*(f for f in diag if f.kind == "note"), still]  # as PyTorch's BCELoss moves
    elif bad and runner.unmoved is not None and runner.unmoved == min(r.step for r in bad):
        if not named:  # the rest follows from weights that stay (Adam's v / 0 stays: named)
            rt, at = HYPOTHESIS_TOL[prec]
            late = runner.unmoved == 1 and stale_update(run.history, spec, codec, at, rt)
            diag = [late or unmoved(runner.unmoved, adapter)]
    elif bad and runner.stuck is not None and stuck_explains(runner.stuck, bad, codec):
        diag = [partly_unmoved(runner.stuck[0], codec.labels(list(runner.stuck[1])))]
    hygiene = runner.hygiene
    if any(
        "classical momentum mu =" in f.evidence or f.code == "gradient_accumulation" for f in diag
    ) or any(f.code == "dtype_changed" for f in runner.notes):  # the state is explained
        hygiene = [f for f in hygiene if f.code != "nondeterministic"]
    if any(f.code == "gradient_accumulation" for f in hygiene):  # one finding, not two
        diag = [f for f in diag if f.code != "gradient_accumulation"]
    notes = early + run.notes + runner.notes  # (then the textbook's norm clip, said once)
    notes += clip_form(ref, notes)
    if diag and diag[0].code == "residual_connection":  # correct, but not declarable: refused
        raise LearnerError(f"{diag[0].evidence.replace('equals', 'is')}: {diag[0].hint}")
    if diag and all(f.kind == "note" for f in diag):  # differences that are not bugs
        notes, diag, bad = notes + diag, [], []
    causes = hygiene + [f for f in diag[:1] if f.code == "gradient_accumulation"]
    if causes:  # the hygiene finding first: mismatches are then likely its consequence
        what = " and ".join(dict.fromkeys(f.code for f in causes))
        diag = [
            replace(f, evidence=f"{f.evidence} (likely a consequence of {what}: fix that first)")
            if f.code in CONSEQUENCES and f not in causes
            else f
            for f in diag  # (one said as a cause already is not its own consequence: s59a F6)
            if f in causes or (f.code, f.params) not in {(c.code, c.params) for c in causes}
        ]
    lead, trail = crash_after(run.crash, bad, diag)
    findings = lead + hygiene + diag + trail + notes
    findings = with_forward_order(adapter, findings, runner, run.history)
    unchecked: tuple[Finding, ...] = ()
    why = "the code does not match PyTorch yet" if probe else "the training probe was not run"
    training = Training("not_assessed", "", why + ("" if probe else " (probe=False)"))
    if not targets or adapter.style == "forward":
        training = Training("not_assessed", "", "no targets to train on (forward only)")
    can_probe = probe and targets and adapter.style != "forward"
    if run.crash or bad or hygiene:
        code = "implementation_bug"
        if can_probe:
            training = Training("not_assessed", "", "the code does not match PyTorch yet")
    elif nan_step:
        obs, rs, expected = run.history[-1]
        finite, free, lower = twin_free(ref, codec, P0, X, y, batches, nan_step)
        what = first_nonfinite(obs, codec)
        if expected is None and obs.implied and obs.after is not None:  # PyTorch's step there
            expected = ref.update(obs.params, rs.grads)
        made = update_made(obs, what, expected, spec, codec.held_in(), rs.grads)
        if finite:
            code = "numerical_instability"
            if nan_step == 1 and not runner.warning and backward_only(obs, what, rs):
                code = "implementation_bug"  # nothing agreed first: the gradient code
            if nan_step == 1 and runner.warning and NEGATIVE_ROOT in runner.warning[1]:
                code = "implementation_bug"  # no formulation takes the root of a negative
            if made is not None:
                code = "implementation_bug"  # finite gradients, a finite declared step
            findings.insert(
                0, nonfinite_finding(obs, what, rs, spec, codec, runner.warning, free, made)
            )
            if can_probe and code == "numerical_instability":  # could this model fit at all?
                training, found = probe_from(ref, codec, P0, X, y, batches, probe_steps)
                findings += found
        else:  # PyTorch diverges the same way: the training, not the learner's formulation
            code = "match"
            findings.insert(0, diverges_finding(obs, what, rs, spec, free, lower))
            training = Training("model_limitation", "the loss stays finite",
                                f"NaN/Inf at step {nan_step}, and in PyTorch's run from your "
                                "weights")  # fmt: skip
    else:
        code = "numerical_instability" if sat and sat.kind == "bug" else "match"
        findings = [sat, *findings] if sat else findings
        unchecked = (*unseen(adapter, spec, run.history), *run.ignored, *unreached)
        if can_probe:
            training, found = probe_from(ref, codec, P0, X, y, batches, probe_steps)
            findings += found
    return CheckResult(
        code,
        tuple(findings),
        param_table(run.records, run.history, codec),
        tuple(run.records),
        conv.describe(codec.layout, spec.dtype) + mixed_text(prec, spec.dtype),
        adapter.style,
        len(run.history),
        training,
        unchecked if code == "match" else (),
    )
