"""The allowances a parity step is judged by: round-off bounds, gradient floors, the oracle."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .compare import Flat, Record, flatten
from .roundoff import Envelope
from .tolerance import Tolerance

Array = np.ndarray
ORACLE_FACTOR = 4.0  # see the module docstring of engine.py
GROWTH_CAP = 100.0  # free mode widens by the loss growth up to this; past it, resync decides
TINY = 1e-300  # the scale of a gradient whose atol floor is folded into its bound
ROUNDOFF_FLOOR = 1e4  # a gradient element's floor is at most this many times its allowance


def _gradient_floors(
    bounds: dict, pairs: dict, tol: Tolerance, u: float
) -> tuple[dict, set[tuple[str, str]]]:
    """Each gradient element's atol floor, capped by its own round-off allowance ``R``:
    ``min(atol * max|e|, ROUNDOFF_FLOOR * R)``. The tensor-wide floor alone let one saturated
    unit in a layer of live ones (entries 1e-9 of the tensor's largest) be doubled or
    sign-flipped unseen although its own ``R`` is 1e-16 of them; ``ROUNDOFF_FLOOR`` leaves the
    envelope a margin of 1e4 beyond its SAFETY factor. The floor is added to the bound; the
    tensor's own scale is then ``TINY`` (the keys returned)."""
    out, floored = dict(bounds), set()
    for (stage, name), bd in bounds.items():
        if stage != "grad" or (stage, name) not in pairs:
            continue
        e = np.abs(np.asarray(pairs[(stage, name)][1], dtype=np.float64))
        top = float(e.max(initial=0.0)) if np.isfinite(e).all() else np.inf
        if not np.isfinite(top) or np.shape(bd) != e.shape:
            continue
        floor = np.minimum(tol.atol * (top if top > 0 else 1.0), ROUNDOFF_FLOOR * bd)
        out[(stage, name)] = bd + floor
        floored.add((stage, name))
    return out, floored


def _bounds(
    env: Envelope | None,
    p: dict[str, Array],
    state: Any,
    torch_p: dict[str, Array],
    torch_state: dict[str, Any] | None,
    X64: Array,
    y64: Array,
    tgrads: dict[str, Array],
) -> dict[tuple[str, str], Array]:
    """Round-off allowances of this step (``roundoff.Envelope``) at the twin's weights; in free
    mode the drift between the sides (weights, optimizer state) enters as an input error."""
    if env is None:
        return {}
    try:
        with np.errstate(all="ignore"):
            return _bounds_of(env, p, state, torch_p, torch_state, X64, y64, tgrads)
    except (RuntimeError, ValueError, TypeError, KeyError, AttributeError):
        return {}  # a network whose arrays do not fit its spec: its records fail on shape


def _bounds_of(
    env: Envelope,
    p: dict[str, Array],
    state: Any,
    torch_p: dict[str, Array],
    torch_state: dict[str, Any] | None,
    X64: Array,
    y64: Array,
    tgrads: dict[str, Array],
) -> dict[tuple[str, str], Array]:
    P = {n: np.asarray(v, dtype=np.float64) for n, v in torch_p.items()}
    free = torch_p is not p
    st64 = _cast_state(state)
    dP = {n: np.abs(np.asarray(p[n], np.float64) - P[n]) for n in P} if free else None
    dst = None
    if free and torch_state is not None:
        fields = {}
        for key, bufs in st64._asdict().items():
            if key == "step":
                fields[key] = bufs
                continue
            theirs = torch_state.get(key, {})
            fields[key] = {n: np.abs(v - theirs[n]) if n in theirs else np.zeros_like(v)
                           for n, v in bufs.items()}  # fmt: skip
        dst = type(state)(**fields)
    gb = env.grads(P, X64, y64, dP)
    g64 = {n: np.asarray(v, dtype=np.float64) for n, v in tgrads.items()}
    gbound = {n: gb.get(("grad", n), np.zeros_like(v)) for n, v in g64.items()}
    gdrift = None
    if free:  # split the gradient's allowance: its round-off (SAFETY x) and its drift (1 x)
        g0 = env.grads(P, X64, y64, None)
        gdrift = {n: np.maximum(gbound[n] - g0.get(("grad", n), 0.0), 0.0) for n in gbound}
        gbound = {n: gbound[n] - gdrift[n] for n in gbound}
    ub = env.step(P, st64, g64, gbound, dP, dst, gdrift)
    return {**gb, **ub}


def _pairs(out: Array, loss: float, grads: dict, params: dict, state: Any, t: Any) -> dict:
    pairs: dict[tuple[str, str], tuple[Any, Any]] = {
        ("forward", "output"): (out, t.out),
        ("loss", "loss"): (loss, t.loss),
    }
    for n, g in grads.items():
        theirs = t.grads.get(n)
        pairs[("grad", n)] = (g, np.full_like(g, np.nan) if theirs is None else theirs)
    for n in params:
        pairs[("update", n)] = (params[n], t.params[n])
    for key, bufs in state._asdict().items():
        if key == "step" or not bufs:
            continue
        for n, v in bufs.items():
            theirs = t.state.get(key, {}).get(n)
            if theirs is None:
                theirs = np.full_like(v, np.nan)
            pairs[("optimizer_state", f"{key}.{n}")] = (v, theirs)
    if "step" in t.state:
        pairs[("optimizer_state", "step")] = (float(state.step), float(t.state["step"]))
    return pairs


def _growth(growth: tuple[float, float], loss: float, k: int) -> tuple[float, float]:
    """(first loss, max over steps so far of |loss_j| / |loss_1|, at least 1): a diverging
    trajectory amplifies round-off as it grows, so free mode widens by this factor too."""
    first = abs(loss) if k == 1 else growth[0]
    if not math.isfinite(loss):  # a run gone non-finite has grown past any cap
        return first, np.inf
    ratio = abs(loss) / first if first > 0 else 1.0
    return first, max(growth[1], ratio, 1.0)


def _pairs_torch(o: Any) -> dict:
    out: dict[tuple[str, str], Any] = {("forward", "output"): o.out, ("loss", "loss"): o.loss}
    out.update({("grad", n): v for n, v in o.grads.items()})
    out.update({("update", n): v for n, v in o.params.items()})
    for key, bufs in o.state.items():
        if key != "step":
            out.update({("optimizer_state", f"{key}.{n}"): v for n, v in bufs.items()})
    return out


def _with_oracle(
    rec: Record,
    a: Any,
    e: Any,
    ref: Array,
    tol: Tolerance | None = None,
    bound: Any = None,
    scale: float | None = None,
    margin: Any = None,
) -> Record:
    """Add each float32 side's largest error against the float64 ``ref``; a record outside
    tolerance passes (``judged_by='oracle'``) when every element outside its allowance is no
    further from ``ref`` than ``ORACLE_FACTOR`` times the larger of PyTorch's own error there
    and the element's round-off estimate ``margin``. The allowance is the record's own:
    ``atol * scale + rtol |e| + bound`` (``scale`` as the record was judged: None for max|e|,
    ``TINY`` where the floor is inside ``bound``). ``margin`` is the round-off envelope
    without its safety factor and without floors (``R / SAFETY``): ``ORACLE_FACTOR`` is the
    margin here, and a floor (up to 1e4 R) in it let a doubled gradient of a saturated unit
    through. Without ``tol`` (callers that keep their own allowances) the rule compares the
    two tensors' largest errors."""
    a64 = np.asarray(a, dtype=np.float64)
    e64 = np.asarray(e, dtype=np.float64)
    if a64.shape != ref.shape:
        return rec
    with np.errstate(invalid="ignore"):
        ds, dt = np.abs(a64 - ref), np.abs(e64 - ref)
        es = float(np.max(ds)) if ref.size else 0.0
        et = float(np.max(dt)) if ref.size else 0.0
    rec = replace(rec, oracle_scratch=es, oracle_torch=et)
    if rec.passed or rec.nonfinite or rec.expected_dtype:
        return rec
    if tol is None:
        ok = es <= ORACLE_FACTOR * et
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            ae = np.abs(e64)
            top = float(ae.max()) if ae.size else 0.0
            sc = (top if top > 0 else 1.0) if scale is None else scale
            bd = 0.0 if bound is None else np.asarray(bound, dtype=np.float64)
            m = bd if margin is None else np.asarray(margin, dtype=np.float64)
            allowed = tol.atol * sc + tol.rtol * ae + bd
            outside = np.abs(a64 - e64) > allowed
            ok = bool(np.all(~outside | (ds <= ORACLE_FACTOR * np.maximum(dt, m))))
    return replace(rec, passed=True, judged_by="oracle") if ok else rec


def _cast_state(state: Any) -> Any:
    fields = {}
    for key, v in state._asdict().items():
        fields[key] = v if key == "step" else {n: a.astype(np.float64) for n, a in v.items()}
    return type(state)(**fields)


STAGE_RANK = {"forward": 0, "loss": 1, "grad": 2, "update": 3, "optimizer_state": 3}


def _cannot_judge(
    items: list[tuple], recs: list[Record], dtype: str, raw: dict, u: float
) -> tuple[str, str] | None:
    """(the stage from which this step cannot be judged, why), or None. A value non-finite on
    one side and finite on the other is a failure: a correct float computation gives NaN or
    inf only through an overflow (inf - inf, 0 x inf), so in a run whose values stay in range
    it is a bug. It is excused only where the run has left that range: the finite side's
    value there is beyond sqrt(finfo.max) (squaring it overflows), or the terms the element
    sums may be beyond finfo.max (its round-off allowance ``raw``, at least u times their
    sum, is above u finfo.max: an intermediate of one side may have overflowed while the
    result is modest; below that no term can have, so a one-sided NaN is a bug, as a naive
    ``log(1 + exp(z))`` that overflows at z = 89). An allowance as large as the
    value alone is no excuse: a gradient that is pure round-off (symmetric units) has one in
    a well-conditioned run. The earliest such stage counts (forward, loss, grad, then update
    and state): the stages before it do not depend on it and are judged (a NaN gradient beside
    an overflowed ``exp_avg_sq`` fails)."""
    top = float(np.finfo(dtype).max)
    edge = float(np.sqrt(top))
    found: list[tuple[int, str, str]] = []
    for (stage, name, a, e, _, _), rec in zip(items, recs, strict=True):
        if rec.passed or not rec.nonfinite:
            continue
        a64, e64 = (np.asarray(v, dtype=np.float64) for v in (a, e))
        if a64.shape != e64.shape:
            continue
        one = np.isfinite(a64) != np.isfinite(e64)
        if not one.any():
            continue
        finite = np.abs(np.where(np.isfinite(a64), a64, e64)[one])
        where = f"{stage} / {name}"
        rank = STAGE_RANK.get(stage, 0)
        if float(finite.max()) > edge:
            found.append((rank, stage, (
                f"{where} is non-finite on one side where the other is {finite.max():.3g}, "
                f"beyond sqrt({dtype} max) = {edge:.3g}: the run has overflowed"
            )))  # fmt: skip
        elif _terms(raw.get((stage, name)), one) > u * top:
            found.append((rank, stage, (
                f"{where} is non-finite on one side, and the terms it sums may be beyond "
                f"{dtype} max = {top:.3g} (its round-off allowance is "
                f"{_terms(raw.get((stage, name)), one):.3g}): the run has overflowed"
            )))  # fmt: skip
    if not found:
        return None
    _, stage, why = min(found, key=lambda f: f[0])
    return stage, why


def _terms(bound: Any, where: Array) -> float:
    """The largest finite round-off allowance at ``where`` (0 without one)."""
    if bound is None:
        return 0.0
    b = np.broadcast_to(np.asarray(bound, dtype=np.float64), where.shape)[where]
    b = b[np.isfinite(b)]
    return float(b.max()) if b.size else 0.0


def _within_rtol(pairs: dict, rtol: float, flat: Flat | None = None) -> bool:
    """Whether every element of every pair is finite, of one shape, and within ``rtol`` of
    PyTorch's: ``|a - e| <= rtol |e|``. Such a step passes whatever its round-off allowances,
    which only add to ``rtol |e|``, so the envelope (the engine's costliest part) is skipped;
    it is computed for any step with one element outside, where it decides. ``flat``:
    ``compare.flatten(pairs.values())`` if already made."""
    flat = flat or flatten(list(pairs.values()))
    if flat is None:  # a pair misshapen (never within) or empty (no element to hold)
        if any(np.shape(a) != np.shape(e) for a, e in pairs.values()):
            return False
        flat = flatten([(a, e) for a, e in pairs.values() if np.size(a)])
        if flat is None:
            return True
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.all(flat.D <= rtol * flat.AE))
