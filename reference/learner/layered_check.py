"""``check`` for a learner network declared with a layered spec (conv, pooling, batchnorm,
dropout): the learner's training pass and the float64 twin at the learner's weights, running
statistics and dropout masks, one step at a time (resync).

Per step: the learner's loss and every gradient (W, b, gamma, beta) against the twin's, with
the layered engine's per-element allowance (``layered_engine.bounds``: layer scale, the terms
each gradient sums, ``u K T``; for a float32 learner the probabilistic bound ``lambda sqrt(K)
u T``, lambda = 10 (Higham & Mary 2019: it fails with probability below ``2K exp(-50)``),
since the worst case ``K u T`` is wider there than the bugs it must catch; and at most
``REFERENCE32`` times scratch's own float32 error there, ``_float32_caps``); the learner's
running statistics after the pass against the declared convention's update from the twin's
batch statistics (``buffers``), and unchanged by anything else (the inference pass, between
passes); the learner's ``forward`` (its inference pass) against the twin in eval mode at the
learner's running statistics. The learner's weights then take the declared optimizer's step
from the learner's own gradients. Masks repeated from the previous step are ``dropout_mask``;
the last, short batch is always compared (``layered_steps``). The first step that parts is
diagnosed (``layered_judge``); the training probe is not run."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnparity.reference.compare import Record, compare_many
from nnparity.reference.layered_engine import SAFETY, _Probe, bounds
from nnparity.reference.layered_kinks import forward_allowances, undetermined
from nnparity.reference.layered_terms import abs_grads, depth_factor
from nnparity.reference.tolerance import tolerance_for
from nnparity.scratch import build

from .accumulation import accumulated
from .adapters import Adapter
from .coverage import LOOP_NOT_RUN, undetermined_note, update_not_compared
from .layered_decl import LayeredDecl
from .layered_judge import diagnose, explained
from .layered_learner import Learner, guarded
from .layered_masks import UNRECOVERED, input_shapes, keeps_of, recover
from .layered_reference import LayeredRef, LStep
from .layered_steps import (
    frozen,
    layouts,
    moved,
    moved_finding,
    note,
    schedule,
    scorer,
    table,
    undrawn,
)
from .mask_draws import Draws
from .paths import LearnerError, put
from .result import CheckResult, Finding, Training, distinct, value_apart
from .row_order import other_rows, stale_layered
from .runner import LearnerCrash
from .seed_inside import seed_said
from .targets import one_hot

Array = np.ndarray
REFERENCE32 = 16.0  # correct float32 learners measured at most 4.2 times scratch's float32 error
LAMBDA = 10.0  # float32: the probabilistic bound's lambda (Higham & Mary 2019)


def _targets(decl: LayeredDecl, y: Any) -> tuple[Array, Array]:
    """(y as the learner gets it, y as the twin takes it): class labels as int64, a column
    of labels (N, 1) flattened, one-hot rows (N, K) their argmax (the learner keeps them)."""
    yv = np.asarray(y)
    if decl.spec.loss.name != "cross_entropy":
        return yv, yv
    yt = yv.reshape(-1) if yv.ndim == 2 and yv.shape[1] == 1 else yv
    if yt.ndim == 2 and one_hot(yt, len(yt), yt.shape[1]):
        yt = yt.argmax(1)
    if yt.ndim != 1:
        raise LearnerError(
            f"y has shape {yv.shape}: cross_entropy takes class indices (N,) or (N, 1), or "
            "one-hot rows (N, K) of 0/1 with a single 1"
        )
    return yv, yt.astype(np.int64)


def check_layered(
    adapter: Adapter,
    X: Any,
    y: Any,
    *,
    steps: int = 10,
    batch_size: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    **_: Any,
) -> CheckResult:
    """Hold a layered learner network to its twin for ``steps`` steps (see the module doc)."""
    decl: LayeredDecl = adapter.layered
    if adapter.grads is None:
        raise LearnerError("a layered check needs your training pass: from_loss or from_layers")
    X = np.asarray(X)
    if X.shape[1:] != decl.spec.in_shape:
        shape, last = decl.spec.in_shape, ""
        if len(shape) == 3 and X.shape[1:] == (shape[1], shape[2], shape[0]):
            last = (
                ": your images are channels-last (N, H, W, C); the spec and PyTorch take "
                "channels-first (N, C, H, W): give check X.transpose(0, 3, 1, 2), and transpose "
                "back inside your lambdas if your code wants channels-last (check takes "
                "channels-first weights only)"
            )
        raise LearnerError(
            f"X has samples of shape {X.shape[1:]}; the spec's input is {shape}{last}"
        )
    yv, y_twin = _targets(decl, y)
    learner = Learner(adapter, decl)
    saved = learner.raw()
    bs = min(batch_size or decl.batch_size or len(X), len(X))
    order, notes = schedule(decl, len(X), bs, steps)
    ref = LayeredRef(decl)
    net = build(decl.spec)
    opt_state = net.opt.init(learner.read())
    tol = tolerance_for("float64", 1, "resync", rtol, atol)
    if learner.dtype == "float32" and rtol is None:
        tol = tolerance_for("float32")
    probe = _Probe(decl.spec.replace(dtype=learner.dtype))
    records: list[Record] = []
    findings: list[Finding] = []
    run, last_b, prev_masks, loss_only, prev_G = 0, None, None, None, None
    kinked: dict[str, int] = {}  # gradients undetermined at a kink: their first step
    drawn: dict = {}  # declared masks' evidence over the steps (mask_draws)
    drawn_at: dict = {}  # each step's masks, by their bytes: (step, masks)
    seeded = decl.dropout_seed is not None  # a seed set in every pass: the same mask each
    fresh = decl.fresh_buffers()
    try:
        for k, rows in enumerate(order, 1):
            Xb, yb, ytb = X[rows], yv[rows], y_twin[rows]
            raw_p = learner.raw()
            P = learner.read()
            B0 = learner.buffers(fresh, first=k == 1)
            gone = moved(last_b, B0)
            if gone:
                findings = [moved_finding(gone, _paths(learner, gone), "between passes", k)]
                break
            state = adapter.rng_state()  # in the learner's process
            loss, G = learner.step(k, Xb, yb)
            B1 = learner.buffers(fresh)
            Bs = B0 or fresh
            if k == 1 and learner.square:
                P, lay = layouts(learner, raw_p, scorer(learner, ref, Bs, Xb, ytb, loss, state))
                G = learner.grads()
                notes += [lay] if lay else []
            masks, fresh_masks, got = recover(
                learner, ref, P, Bs, Xb, ytb, loss, G, state, prev_masks, k
            )
            if got is not None and got.kind != "note":
                findings = [got]
                break
            unsure = got is not None and got.code == "dropout_unrecovered"
            if got and k == 1 and not unsure:
                notes.append(got)
            seeded = seeded or (got is not None and got.code == "dropout_seeded")
            recipe = getattr(learner, "step_recipe", None) or ""  # this step's draw
            seed = seed_said(recipe, masks, keeps_of(decl), input_shapes(decl, len(Xb)),
                             getattr(learner, "recipe", None))  # fmt: skip
            unfit = seed and not learner.mask_fit  # no seed gives this step's loss
            key = b"".join(np.asarray(m).tobytes() for m in masks.values())  # any step's?
            j, before = drawn_at.get(key, (k - 1, prev_masks))  # (review s33 F1: every other)
            drawn_at.setdefault(key, (k, masks))
            stuck = None if seeded or unfit else frozen(before, masks, keeps_of(decl), k, seed, j)
            if decl.masks and not stuck:  # declared: held to independent draws at keep
                drawn = drawn or {n: Draws(kp) for n, kp in zip(masks, keeps_of(decl), strict=True)}
                stuck = undrawn(drawn, masks, learner.mask_known, k)
            if stuck:
                findings = [stuck]
                break
            prev_masks = masks
            T = ref.run(P, Bs, Xb, ytb, masks)
            recs, undet = _records(decl, T, loss, G, B1, P, masks, Xb, ytb, tol, probe, k, Bs)
            kinked.update({n: kinked.get(n, k) for n in undet})
            if adapter.forward is not None and (B1 is not None or not fresh):
                recs += _eval(adapter, ref, decl, P, B1 or fresh, Xb, tol, k)
                B2 = learner.buffers(fresh)
                gone = moved(B1, B2)
                if gone:
                    paths = _paths(learner, gone)
                    findings = [moved_finding(gone, paths, "in your forward (inference) pass", k)]
                    records += recs
                    run = k
                    break
            last_b = B1
            records += recs
            run = k
            bad = [r for r in recs if not r.passed]
            value = next((r for r in bad if r.stage == "loss"), None)
            if value and not any(r.stage == "grad" for r in bad):  # the value alone: what else
                loss_only = loss_only or _loss_note(value, k)  # parts (an eval pass, review
                recs, bad = [r for r in recs if r.stage != "loss"], [r for r in bad if r != value]
            if bad:
                why = (
                    ref,
                    learner,
                    decl,
                    recs,
                    T,
                    P,
                    Bs,
                    B1,
                    masks,
                    fresh_masks,
                    Xb,
                    ytb,
                    loss,
                    G,
                    k,
                )
                labels = dict(zip(learner.names, adapter.paths, strict=True))
                acc = accumulated(G, prev_G, T.grads, bad, labels, k)
                stale = k > 1 and other_rows(rows, order[0])
                findings = (acc or stale and stale_layered(ref, P, Bs, X, y_twin, order[0], rows,
                            masks, G, bad, labels, learner.dtype) or diagnose(*why))  # fmt: skip
                if findings and findings[0].code == "flatten_order":  # correct, not declarable
                    raise LearnerError(f"{findings[0].evidence}: {findings[0].hint}")
                if unsure and not explained(findings[0]):
                    findings = _other_masks(why, tol, probe) or []
                    if not findings:  # (the note's own words: a declared seed's, s33 F10)
                        raise LearnerError(got.evidence if got is not None else UNRECOVERED)
                break
            prev_G = G
            P2, opt_state = net.opt.update(G, opt_state, P)
            learner.write(P2)
    except LearnerCrash as e:
        findings = [e.finding]
    finally:
        for p, v in zip(adapter.paths, saved, strict=True):
            put(adapter.root, p, v)
    if loss_only:
        notes.append(loss_only)
    if decl.buffer_names() and not decl.buffers:
        notes.append(NO_BUFFERS)
    if adapter.forward is None:
        notes.append(NO_FORWARD)
    code = "implementation_bug" if findings else "match"
    return CheckResult(
        code,
        tuple(findings + notes),
        table(records, learner),
        tuple(records),
        decl.describe(bs),
        adapter.style,
        run,
        Training("not_assessed", "", "the training probe does not run on layered specs yet"),
        _no_update(adapter, decl)
        + undetermined_note(kinked, dict(zip(learner.names, adapter.paths, strict=True)))
        if code == "match"
        else (),
    )


def _no_update(adapter: Adapter, decl: LayeredDecl) -> tuple[Finding, ...]:
    """The learner's own update is never run here (its weights take the declared step), nor
    its training loop."""
    if adapter.style == "step":  # its gradients are read from its moves: the update is held
        return (LOOP_NOT_RUN,)
    given = " (your step= is not used with a layered spec yet)" if adapter.step else ""
    return (
        update_not_compared(
            given,
            "your loss, gradients and running statistics",
            decl.spec.opt.name,
            "hold your update to PyTorch's optimizer on a dense spec, or compare it by hand "
            "with torch.optim",
        ),
        LOOP_NOT_RUN,
    )


def _other_masks(why: tuple, tol: Any, probe: Any) -> list[Finding] | None:
    """With no replay giving the learner's loss at step 1, each other replayed draw in turn:
    the findings of the first whose diagnosis explains the loss and every gradient."""
    ref, learner, decl, _, _, P, B, B1, _, _, X, y, loss, G, k = why
    for masks, nxt in getattr(learner, "candidates", []):
        T = ref.run(P, B, X, y, masks)
        recs = _records(decl, T, loss, G, B1, P, masks, X, y, tol, probe, k, B)[0]
        if all(r.passed for r in recs):
            continue
        out = diagnose(ref, learner, decl, recs, T, P, B, B1, masks, nxt, X, y, loss, G, k)
        if explained(out[0]):
            return out
    return None


def _paths(learner: Learner, names: list[str]) -> list[str]:
    src = dict(zip(learner.decl.buffer_names(), learner.decl.buffers, strict=False))
    return [str(src.get(n, n)) if isinstance(src.get(n), str) else n for n in names]


def _eval(adapter, ref, decl, P, B, X, tol, k) -> list[Record]:  # noqa: ANN001
    """The learner's ``forward`` (inference pass) against the twin in eval mode."""
    out = guarded(adapter.forward, k, "your forward pass", X.copy())
    e = ref.eval(P, B, X)
    o = np.asarray(out, dtype=np.float64)
    if o.shape != e.shape:
        raise LearnerError(
            f"your forward= returns shape {o.shape}; the network's output is {e.shape}: pass "
            "the function that returns the scores (logits or softmax), not labels or the loss"
        )
    if decl.spec.loss.name == "cross_entropy":
        sm = np.exp(e - e.max(axis=1, keepdims=True))
        sm /= sm.sum(axis=1, keepdims=True)
        if np.allclose(o, sm, rtol=1e-6, atol=1e-9) and not np.allclose(o, e):
            e = sm  # your forward returns softmax(logits)
    return compare_many(
        [("eval", "output", o, e, None)],
        tol,
        spec=str(decl.spec),
        mode="resync",
        step=k,
        check_dtype=False,
    )


def _loss_note(r: Record, k: int) -> Finding:
    return note(
        "loss_value_mismatch",
        f"your loss value parts from PyTorch's at step {k} (%s vs %s) while every gradient "
        f"agrees: training is unaffected ({value_apart(r.scratch_value, r.torch_value)})"
        % distinct(r.scratch_value, r.torch_value),
        "nothing to fix for training; the reported loss differs",
        k,
    )


NO_FORWARD = note(
    "forward_not_compared",
    "your forward (inference) pass was not compared (no forward= given)",
    "pass forward=<your predict or scores function> to compare it in eval mode",
)


NO_BUFFERS = Finding(
    "buffers_not_compared",
    (),
    None,
    None,
    "your batchnorm's running statistics were not compared (no buffers= declared), nor your "
    "forward (inference) pass, which normalises with them",
    "declare buffers=[...] (running_mean, running_var of each batchnorm, in spec order)",
    "note",
)


def _float32_caps(spec, P, X, y, B0, masks, twin: dict) -> dict[str, float]:  # noqa: ANN001
    """Per gradient, ``REFERENCE32`` times how far a correct float32 implementation (scratch in
    float32, at the same weights, buffers and masks) lands from the float64 twin: the round-off
    float32 actually makes here. The analytic bound sums every term at its worst, and through a
    batchnorm's dx that is thousands of times the error a correct program makes (review s6:
    a 0.1% error in a conv gradient under batchnorm matched); the allowance takes the smaller."""
    net = build(spec.replace(dtype="float32"))
    P32 = {n: np.asarray(v, np.float32) for n, v in P.items()}
    B32 = {n: np.asarray(v, np.float32) for n, v in (B0 or {}).items()} or None
    try:
        with np.errstate(all="ignore"):
            _, g32, _ = net.loss_and_grads(
                P32, np.asarray(X, np.float32), y, buffers=B32, masks=masks
            )
    except Exception:  # noqa: BLE001 - no reference: the analytic bound alone
        return {}
    out = {}
    for n, e in twin.items():
        d = np.abs(np.asarray(g32.get(n), np.float64) - np.asarray(e, np.float64))
        if d.shape == np.shape(e) and np.isfinite(d).all():
            out[n] = REFERENCE32 * float(d.max(initial=0.0))
    return out


def _records(decl, T: LStep, loss, G, B1, P, masks, X, y, tol, probe, k, B0):  # noqa: ANN001, ANN202
    """(records, undetermined gradients) of one step: loss, grads (with the layered engine's
    allowance) and buffers."""
    from nnparity.scratch import NetState

    spec = decl.spec.replace(batch=len(X))
    net = build(spec)
    pairs: dict = {}
    if loss is not None:
        pairs[("loss", "loss")] = (loss, T.loss)
    for n, g in G.items():
        pairs[("grad", n)] = (g, T.grads[n])
    state = NetState(net.opt.init(P), B0, masks)
    K: float = depth_factor(spec)
    T_abs = abs_grads(spec, P, X, y, state, masks)
    if probe.u > 1e-12:  # float32: the probabilistic bound lambda sqrt(K) u T, not K u T
        K = min(K, LAMBDA * np.sqrt(K) / SAFETY)  # never wider than the worst case
        for n, cap in _float32_caps(spec, P, X, y, B0, masks, T.grads).items():
            # never below lambda u T: a formulation less stable than scratch's (CS231n's
            # staged batchnorm backward at batch 2) rounds 40-80x worse than scratch there
            allow = np.maximum(cap, LAMBDA * probe.u * T_abs[n])
            T_abs[n] = np.minimum(T_abs[n], allow / (SAFETY * probe.u * K))
    terms = (K, T_abs)
    fwd = forward_allowances(spec, P, X, y, state, masks, probe.u)
    if B1 is not None:
        pairs.update({("buffers", n): (B1[n], v) for n, v in T.buffers.items()})
    bd = bounds(spec, tol, pairs, P, state, probe, terms, {}, fwd)
    items = [(st, n, a, e, None, bd.get((st, n))) for (st, n), (a, e) in pairs.items()]
    recs = compare_many(items, tol, spec=str(decl.spec), mode="resync", step=k, check_dtype=False)
    return recs, undetermined(fwd, T.grads)
