"""Per-element round-off allowances on the learner path: the parity engine's ``R`` (see
``nnparity.reference.roundoff`` and the README's "How parity is judged") at the learner's
weights, for its gradients and its post-step weights.

Gradients: ``R_g = Envelope.grads`` (4x the first-order error envelope of each element, from
the magnitudes of the terms it sums), plus the rounding of the L2 term ``l2 W``.

Post-step weights compared with the declared optimizer fed with PyTorch's gradients (a step
that exposes no gradient, ``from_step`` with a stateful optimizer): the learner's own gradient
is within ``R_g`` of PyTorch's, so its step is within what the float64 optimizer gives at
``g + R_g`` and ``g - R_g`` (``Envelope.step``). An adaptive optimizer turns a gradient that is
round-off (0 in exact maths: a bias of an odd-symmetric fit) into a full step of either sign;
that step is then its allowance, and nowhere else. The learner's hidden optimizer state was
built from its own gradients, so the state's drift (each field's allowance of the last step,
without the SAFETY factor, which ``Envelope.step`` applies once) enters the next step as an
input error. The state is a float64 ``scratch`` optimizer fed with the same gradients as the
PyTorch shadow. The steps are only noted as they come, and replayed from the first when a
record first needs an allowance, so a run whose records pass on tolerance alone pays nothing.
A spec ``Envelope`` cannot hold (layered) gets no allowance: {}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnparity.reference.roundoff import SAFETY, Envelope, unit_roundoff
from nnparity.scratch import Spec

from .result import Finding

Array = np.ndarray
HUGE = 1e50  # a gradient this large: a run diverging (trained ones stay below ~1e10)
ROUNDING = 1e-9  # a difference beyond this share of its tensor's largest entry is no round-off
_ERRORS = (RuntimeError, ValueError, TypeError, KeyError, AttributeError, IndexError)


class Allowance:
    """The allowances of one check's run; ``update`` is called once per step, in order."""

    def __init__(self, spec: Spec, frozen: set[str], l2: float = 0.0, dtype: str | None = None):
        """``dtype``: the round-off to allow, if not the spec's (a mixed learner's narrowest
        weights': every operation rounded there bounds the ones it does in wider dtypes)."""
        self.l2 = float(l2)
        self.frozen = set(frozen)
        self.env: Envelope | None = None
        if not spec.layered:  # the envelope is carried through dense layers only
            try:
                self.env = Envelope(spec)
            except _ERRORS:
                self.env = None
        if self.env is not None and dtype is not None:
            self.env.u = unit_roundoff(dtype)
        self.state: Any = None
        self.drift: Any = None
        self.pending: list[tuple] = []
        self.last: dict[str, Array] = {}

    def grads(self, P: dict[str, Array], X: Array, y: Array) -> dict[str, Array]:
        """``R_g`` per gradient element at the learner's weights ``P`` on the batch (X, y);
        {} when the spec has no envelope or the arrays do not fit it."""
        if self.env is None:
            return {}
        P64 = {n: np.asarray(v, dtype=np.float64) for n, v in P.items()}
        y64 = y if y.dtype.kind == "i" else np.asarray(y, dtype=np.float64)
        try:
            with np.errstate(all="ignore"):
                b = self.env.grads(P64, np.asarray(X, dtype=np.float64), y64)
        except _ERRORS:
            return {}
        out = {n: v for (st, n), v in b.items() if st == "grad" and n not in self.frozen}
        if self.l2:  # g + l2 W rounds once more
            for n in out:
                if n[0] == "W" and n in P64:
                    out[n] = out[n] + SAFETY * self.env.u * self.l2 * np.abs(P64[n])
        return out

    def lazy_grads(self, P: dict[str, Array], X: Array, y: Array) -> Callable[[], dict]:
        """``grads(P, X, y)`` computed on the first call only (most steps never need it)."""
        memo: list[dict] = []

        def get() -> dict:
            if not memo:
                memo.append(self.grads(P, X, y))
            return memo[0]

        return get

    def push(self, P: dict[str, Array], fed: dict[str, Array], X: Array, y: Array) -> None:
        """Note one step whose post-step weights are compared with the declared optimizer fed
        with PyTorch's gradients ``fed`` at ``P`` (the learner's own are within ``R_g`` of
        them); nothing is computed until ``update`` asks (most runs never do)."""
        self.pending.append((P, fed, X, y))

    def update(self) -> dict[str, Array]:
        """The allowance of each post-step weight of the last step pushed: the steps pushed
        so far are replayed in order (the state's drift carries from one to the next)."""
        while self.pending:
            P, fed, X, y = self.pending.pop(0)
            self.last = self._update(P, fed, self.grads(P, X, y))
        return self.last

    def _update(
        self, P: dict[str, Array], fed: dict[str, Array], gbound: dict[str, Array]
    ) -> dict[str, Array]:
        if self.env is None:
            return {}
        names = [n for n in fed if n not in self.frozen and n in P]
        P64 = {n: np.asarray(P[n], dtype=np.float64) for n in names}
        g64 = {n: np.asarray(fed[n], dtype=np.float64) for n in names}
        try:
            with np.errstate(all="ignore"):
                if self.state is None:
                    self.state = self.env.opt.init(P64)
                gb = {n: gbound.get(n, np.zeros_like(g64[n])) for n in names}
                b = self.env.step(P64, self.state, g64, gb, None, self.drift)
                self.drift = _drift(self.state, b)
                self.state = self.env.opt.update(g64, self.state, P64)[1]
        except _ERRORS:
            self.env = None  # a mirror that cannot follow: no allowance from here on
            return {}
        return {n: v for (st, n), v in b.items() if st == "update"}


def _drift(state: Any, bounds: dict) -> Any:
    """The state's allowance as a state of the same type (without SAFETY: ``Envelope.step``
    applies it once per use)."""
    fields = {}
    for key, bufs in state._asdict().items():
        if key == "step":
            fields[key] = bufs
            continue
        fields[key] = {
            n: bounds.get(("optimizer_state", f"{key}.{n}"), np.zeros_like(v)) / SAFETY
            for n, v in bufs.items()
        }
    return type(state)(**fields)


def overflowed(records: list, grads: Callable[[], dict], rs: Any) -> tuple[str, str] | None:
    """(stage, tensor) of the first failing record where every failing one is a gradient
    whose round-off allowance is not finite, PyTorch's gradients exceed ``HUGE``, and which
    parts by no more than ``ROUNDING`` of its own largest entry (None otherwise): values so
    large (a diverging run) that the bound of their round-off overflows, so that no
    tolerance can be set for them and the step is not judged (an allowance that overflowed
    is never used to pass a difference)."""
    if max((float(np.abs(g).max(initial=0.0)) for g in rs.grads.values()), default=0.0) < HUGE:
        return None
    found = None
    for r in records:
        if r.passed:
            continue
        e = rs.grads.get(r.tensor) if r.stage == "grad" else None
        b = grads().get(r.tensor) if e is not None else None
        top = float(np.abs(e).max(initial=0.0)) if e is not None else 0.0
        if b is None or np.isfinite(b).all() or r.max_abs > ROUNDING * top:
            return None  # a record that parts otherwise, or by more than round-off at its own
            # scale (a sign flipped at 1e108: review s24d F2): the step is judged
        found = found or (r.stage, r.tensor)
    return found


def unjudged(step: int, stage: str, label: str, rs: Any) -> Finding:
    """The note of a run whose comparison stops at ``step`` (``overflowed``)."""
    top = max((float(np.abs(g).max(initial=0.0)) for g in rs.grads.values()), default=0.0)
    what = f"{'the gradient of' if stage == 'grad' else 'the post-step'} {label}"
    return Finding(
        "unjudged_steps",
        (label,),
        None,
        step,
        f"compared through step {step - 1}: at step {step} the round-off of {what} cannot be "
        f"bounded (PyTorch's gradients reach {top:.3g} there, and the bound overflows), so "
        "that step and the ones after are not judged",
        "values this large mean the training diverges (the loss grows without end): lower "
        "the learning rate; the steps compared agree",
        "note",
    )
