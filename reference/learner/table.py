"""The comparisons of one step (``nnparity.reference.compare`` records: forward output, loss, each
gradient, each post-step weight) and the per-parameter table built from all of them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from nnparity.reference.compare import Record, compare
from nnparity.reference.judge import ROUNDOFF_FLOOR, TINY, _with_oracle, _within_rtol
from nnparity.reference.roundoff import SAFETY
from nnparity.reference.tolerance import Tolerance

from .codec import Codec
from .result import ParamRow
from .runner import Obs
from .torch_side import RefStep


def records_of(
    obs: Obs,
    rs: RefStep,
    expected: dict | None,
    tol: Tolerance,
    text: str,
    frozen: set,
    oracle: RefStep | None = None,
    floor: float = 0.0,
    gbound: Callable[[], dict[str, Any]] | None = None,
    ubound: Callable[[], dict[str, Any]] | None = None,
    capped: bool = True,
) -> list[Record]:
    """One record per quantity the learner showed at this step, against the twin's (grads share
    one atol scale, max |PyTorch gradient| of the step, at least ``floor``: a float16 learner's
    round-off does not shrink with its gradients; implied gradients add their noise).
    For float32, ``oracle`` is the float64 twin at the same weights: a record outside tolerance
    still passes when the learner is no further from it than ``ORACLE_FACTOR`` times PyTorch's
    own float32 error (the parity engine's rule).
    ``gbound`` (called only when a gradient record fails its tolerance) gives each gradient
    element's round-off allowance ``R_g``, ``ubound`` (likewise) each post-step weight's:
    they are added to the tolerance as in the engine, and with them the oracle judges element
    by element (outside the allowance, no further from float64 than ``ORACLE_FACTOR`` times
    the larger of PyTorch's error and ``R``). With ``capped`` (all but float16 learners), a
    gradient element outside ``rtol |e|`` is judged as in the engine: ``atol`` on its own
    tensor's scale, the floor at most ``ROUNDOFF_FLOOR * R`` (R computed then), so a small
    tensor or one saturated unit is not excused by the step's largest gradient or the terms
    floor (R covers a cancelled sum's terms)."""

    def rec(
        a: Any,
        e: Any,
        stage: str,
        tensor: str,
        t: Tolerance = tol,
        scale: float | None = None,
        ref64: Any = None,
        bound: Any = None,
        lazy: Callable[[], Any] | None = None,
        margin: Any = None,
    ) -> Record:
        def one(bd: Any) -> Record:
            return compare(
                a,
                e,
                t,
                spec=text,
                mode="learner",
                step=obs.step,
                stage=stage,
                tensor=tensor,
                scale=scale,
                check_dtype=False,  # a learner's dtype is whatever its code computes in
                bound=bd,
            )

        r = one(bound)
        if not r.passed and bound is None and lazy is not None:
            bound = lazy()
            r = r if bound is None else one(bound)
        if ref64 is None:
            return r
        if bound is None:  # no allowance (a layered spec): the two tensors' largest errors
            return _with_oracle(r, a, e, np.asarray(ref64, dtype=np.float64))
        own = float(np.abs(np.asarray(e, dtype=np.float64)).max(initial=0.0)) or 1.0
        t_own = Tolerance(t.rtol, t.atol * (scale or own) / own)  # the same atol, own scale
        return _with_oracle(
            r, a, e, np.asarray(ref64, dtype=np.float64), t_own, bound, margin=margin
        )

    o = oracle
    out = []
    if obs.out is not None:
        out.append(rec(obs.out, rs.out, "forward", "output", ref64=o and o.out))
    if obs.loss is not None:
        out.append(rec(obs.loss, rs.loss, "loss", "loss", ref64=o and o.loss))
    if obs.grads is not None:
        scale = max(float(np.abs(g).max(initial=0.0)) for g in rs.grads.values()) or 1.0
        scale = max(scale, floor)
        for k, g in obs.grads.items():
            noise = obs.noise.get(k, 0.0)
            e = rs.grads[k]
            R = None
            if gbound is not None and capped and not _within_rtol({k: (g, e)}, tol.rtol):
                R = _get(gbound, k)
            if R is not None and np.shape(R) == np.shape(e):
                # the engine's rule: the tensor's own atol scale, each element's floor capped
                # by its own round-off (1e4 R), so one saturated unit or a small tensor beside
                # large ones is judged on its own terms, not on the step's largest gradient
                own = float(np.abs(np.asarray(e, dtype=np.float64)).max(initial=0.0)) or 1.0
                bd = R + np.minimum(tol.atol * own, ROUNDOFF_FLOOR * R) + noise
                out.append(rec(g, e, "grad", k, tol, TINY, o and o.grads[k], bd,
                               margin=R / SAFETY))  # fmt: skip
                continue
            t = Tolerance(tol.rtol, tol.atol + noise / scale)
            lazy = None if gbound is None else partial(_get, gbound, k)
            out.append(rec(g, e, "grad", k, t, scale, o and o.grads[k], lazy=lazy))
    if expected is not None:
        for k, p in obs.after.items():
            if k not in frozen:
                lazy = None if ubound is None else partial(_get, ubound, k)
                out.append(rec(p, expected[k], "update", k, lazy=lazy))
    return out


def _get(bounds: Callable[[], dict[str, Any]], k: str) -> Any:
    """The allowance of ``k`` (None when there is none), computed once per step."""
    return bounds().get(k)


def param_table(records: list[Record], history: list, codec: Codec) -> tuple[ParamRow, ...]:
    """One row per compared quantity: first bad step, the differences there (or the worst),
    and for gradients c = <g, g_torch> / <g_torch, g_torch> and the cosine."""
    rows: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        rows.setdefault((r.stage, r.tensor), []).append(r)
    out = []
    for (stage, tensor), recs in rows.items():
        bad = [r for r in recs if not r.passed]
        worst = bad[0] if bad else max(recs, key=lambda r: r.max_abs)
        c = cos = None
        if stage == "grad" and bad:
            obs, rs, _ = history[bad[0].step - 1]
            g, e = obs.grads[tensor].ravel(), rs.grads[tensor].astype(np.float64).ravel()
            den = float(e @ e)
            if den > 0 and np.isfinite(g).all():
                c = float(g @ e) / den
                cos = float(g @ e) / max(np.sqrt(den * float(g @ g)), 1e-300)
        name = codec.label(tensor) if stage in ("grad", "update") else tensor
        out.append(
            ParamRow(
                name,
                tensor,
                codec.own(tensor, worst.shape) if stage in ("grad", "update") else worst.shape,
                len(recs),
                bad[0].step if bad else None,
                stage,
                worst.max_abs,
                worst.max_rel,
                c,
                cos,
            )
        )
    return tuple(out)
