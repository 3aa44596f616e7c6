"""The parity engine: run scratch and its PyTorch twin from the same weights and data, step by
step, and compare every forward output, loss, gradient, updated parameter and optimizer state.

Modes: ``free`` lets each side follow its own trajectory (drift accumulates; the tolerance
widens by the step number); ``resync`` resets the twin's parameters and optimizer state to
scratch's before every step, which isolates the error of one step. For float32 specs a float64
twin (the oracle) runs alongside, and each record carries both float32 sides' error against it.

A float32 record outside tolerance still passes (``judged_by='oracle'``) when scratch is no
further from the float64 oracle than ``ORACLE_FACTOR`` times PyTorch's own float32 error: then
the discrepancy is at most five times PyTorch's own round-off. This is what happens when an
adaptive optimizer divides a gradient that is zero in exact arithmetic (symmetric units) by its
own root mean square: round-off noise becomes a step of size lr on both sides, in different
directions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nnparity.scratch import Network, Spec, build, check_data, make_data

from .compare import Record, compare_many
from .finite_diff import MAX_FD_PARAMS, Opinion, fd_grads, opinion
from .protocol import Checked
from .resources import check_resources
from .roundoff import Envelope
from .threads import limited, threads_for
from .tolerance import Tolerance, tolerance_for
from .twin import Twin

Array = np.ndarray
MODES = ("free", "resync")
FRAMEWORKS = {"torch": "PyTorch", "jax": "JAX"}  # ``against=``: the reference held to
ORACLE_FACTOR = 4.0  # see the module docstring
GROWTH_CAP = 100.0  # free mode widens by the loss growth up to this; past it, resync decides


@dataclass(frozen=True)
class ParityResult:
    spec: Spec
    mode: str
    steps: int
    records: tuple[Record, ...]
    opinions: tuple[Opinion, ...] = ()
    arrays: dict[tuple[int, str, str], tuple[Any, Any]] = field(default_factory=dict, repr=False)
    resync: ParityResult | None = None  # free mode past GROWTH_CAP: the resync run that decides
    growth: float = 1.0  # free mode: the loss growth max |L_k| / |L_1| when resync decides
    side: str = "scratch"  # what was held to PyTorch: scratch, or "your network" (net=...)
    framework: str = "torch"  # the reference: "torch" (the twin) or "jax" (``against="jax"``)

    @property
    def judged_by(self) -> str:
        """'resync' when free mode could not judge this run and a resync run decided."""
        return "resync" if self.resync is not None else self.mode

    @property
    def passed(self) -> bool:
        if self.resync is not None:
            return self.resync.passed
        return all(r.passed for r in self.records)

    @property
    def failures(self) -> list[Record]:
        if self.resync is not None:
            return self.resync.failures
        return [r for r in self.records if not r.passed]

    @property
    def first_failure(self) -> Record | None:
        return next(iter(self.failures), None)

    def message(self) -> str:
        """A torch.testing.assert_close-style account of the first failure, and the rest."""
        text = self._message()
        if self.framework != "torch":
            text = re.sub(r"\bPyTorch\b", FRAMEWORKS[self.framework], text)
        return text if self.side == "scratch" else re.sub(r"\bscratch\b", self.side, text)

    def _message(self) -> str:
        if self.resync is not None:
            return (
                f"free mode cannot judge this run: the loss grew {self.growth:.3g}x (past "
                f"{GROWTH_CAP:g}x, where round-off is amplified beyond any sound tolerance); "
                f"the resync comparison decides: {self.resync.message()}"
            )
        if self.passed:
            return f"parity holds: {len(self.records)} comparisons over {self.steps} step(s)"
        fails = self.failures
        first = fails[0]
        head = (
            f"Parity failed for spec '{self.spec}' ({self.mode} mode, {self.steps} steps): "
            f"{len(fails)} of {len(self.records)} comparisons outside tolerance.\n"
            f"First: {first.message()}"
        )
        rest = [f.where for f in fails[1:6]]
        more = f"\nAlso: {'; '.join(rest)}" + (" ..." if len(fails) > 6 else "") if rest else ""
        ops = "".join(f"\n{o}" for o in self.opinions)
        return head + more + ops


def run_parity(
    spec: Spec | str,
    steps: int = 5,
    mode: str = "free",
    *,
    net: Network | None = None,
    params: dict[str, Array] | None = None,
    data: tuple[Any, Any] | None = None,
    oracle: bool = True,
    finite_differences: bool | None = None,
    keep_arrays: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    threads: int | None | str = "auto",
    against: str = "torch",
) -> ParityResult:
    """Run ``steps`` training steps of scratch (or ``net``, your own network following the
    protocol of ``nnparity.reference.protocol``) and the twin; return every comparison.

    ``finite_differences``: None runs them on the first failing gradient when the network has
    at most 5,000 parameters. ``threads``: "auto" (1 for small specs), None, or a count.
    ``against``: the reference, "torch" (the PyTorch twin) or "jax" (the JAX twin of
    ``nnparity.reference.jax``, dense specs only; its float32 oracle is JAX in float64).
    """
    spec = Spec.parse(spec) if isinstance(spec, str) else spec
    _check_against(spec, against)  # --against jax holds dense specs only
    if spec.layered and net is not None and not _is_layered(net):
        from nnparity.scratch import SpecError

        raise SpecError(
            "run_parity(net=...) holds your network to PyTorch for dense specs; for a layered "
            "spec (conv, pooling, batchnorm, layernorm, dropout) give no net= (scratch's own), "
            "or a nnparity.scratch LayeredNetwork with layers of your own (its slots)"
        )
    if mode not in MODES:
        from nnparity.scratch import SpecError

        raise SpecError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if steps < 1:
        from nnparity.scratch import SpecError

        raise SpecError(f"steps must be >= 1, got {steps}")
    tolerance_for(spec.dtype, 1, mode, rtol, atol)  # bad overrides fail before any work
    check_resources(spec, steps, keep_arrays)  # a run that cannot fit is refused up front
    n_threads = threads_for(spec) if threads == "auto" else threads
    if net is None or spec.layered:
        side = build(spec) if net is None else net
    else:
        side = Checked(net, spec, need_init_params=params is None)
    run = _run
    if spec.layered:
        from .layered_engine import run_layered as run
    with limited(n_threads):
        result = run(
            spec,
            steps,
            mode,
            side,
            params,
            data,
            oracle,
            finite_differences,
            keep_arrays,
            rtol,
            atol,
            against,
        )
    if net is None:
        return result
    resync = result.resync and replace(result.resync, side="your network")
    return replace(result, side="your network", resync=resync)


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


def _copy(p: dict[str, Array]) -> dict[str, Array]:
    return {k: v.copy() for k, v in p.items()}


def _is_layered(net: Any) -> bool:
    from nnparity.scratch.stack import LayeredNetwork

    return isinstance(net, LayeredNetwork)


def _run(
    spec: Spec,
    steps: int,
    mode: str,
    net: Network,
    params: dict[str, Array] | None,
    data: tuple[Any, Any] | None,
    oracle: bool,
    finite_differences: bool | None,
    keep_arrays: bool,
    rtol: float | None,
    atol: float | None,
    framework: str = "torch",
) -> ParityResult:
    X, y = check_data(spec, *data) if data is not None else make_data(spec)
    p = {k: np.array(v, dtype=spec.dtype) for k, v in (params or net.init_params()).items()}
    p0 = p
    state = net.init_state(p)
    make_twin = Twin if framework == "torch" else _jax_twin
    twin = make_twin(spec)
    twin.set_params(p)
    Xt, yt = twin.tensors(X, y)
    orc = None
    if oracle and spec.dtype == "float32":
        orc = make_twin(spec.replace(dtype="float64"))
        orc.set_params({k: v.astype(np.float64) for k, v in p.items()})
        Xo, yo = orc.tensors(
            X.astype(np.float64), y if y.dtype.kind == "i" else y.astype(np.float64)
        )
    env = Envelope(spec) if rtol is None else None
    X64 = X.astype(np.float64)
    y64 = y if y.dtype.kind == "i" else y.astype(np.float64)
    text = str(spec)
    records: list[Record] = []
    arrays: dict[tuple[int, str, str], tuple[Any, Any]] = {}
    opinions: list[Opinion] = []
    want_fd = finite_differences
    if want_fd is None:
        want_fd = sum(v.size for v in p.values()) <= MAX_FD_PARAMS
    growth = (0.0, 1.0)
    torch_p = p  # the twin's weights before the step (its own trajectory in free mode)
    torch_state: dict[str, Any] | None = None  # the twin's state before the step (free mode)
    capped = False
    for k in range(1, steps + 1):
        if mode == "resync" and k > 1:
            twin.set_params(p)
            twin.set_state(state)
            if orc is not None:
                orc.set_params({n: v.astype(np.float64) for n, v in p.items()})
                orc.set_state(_cast_state(state))
        with np.errstate(all="ignore"):  # non-finite values are found and reported below
            # the network gets its own copies: one that writes into X, y or its weights in
            # place cannot change what PyTorch (which shares X's memory) or later steps see
            loss, grads, out = net.loss_and_grads(_copy(p), X.copy(), y.copy())
            new_p, new_state = net.opt.update(grads, state, _copy(p))
        t = twin.step(Xt, yt)
        o = orc.step(Xo, yo) if orc is not None else None
        growth = _growth(growth, t.loss, k)
        tol = tolerance_for(spec.dtype, k, mode, rtol, atol)
        if mode == "free":
            capped = capped or growth[1] > GROWTH_CAP
            tol = tol.widened(min(growth[1], GROWTH_CAP))
        pairs = _pairs(out, loss, grads, new_p, new_state, t)
        bounds = {}  # given rtol and atol replace the whole rule (assert_close's, scaled atol)
        if rtol is None:
            bounds = _bounds(env, p, state, torch_p, torch_state, X64, y64, t.grads)
        opairs = _pairs_torch(o) if o is not None else {}
        floored: set = set()
        if bounds:
            bounds, floored = _gradient_floors(bounds, pairs, tol, env.u)
        items = [(st, n, a, e, TINY if (st, n) in floored else None, bounds.get((st, n)))
                 for (st, n), (a, e) in pairs.items()]  # fmt: skip
        recs = compare_many(items, tol, spec=text, mode=mode, step=k)
        if framework != "torch":
            recs = [replace(r, framework=framework) for r in recs]
        for rec, (stage, name, a, e, _, bd) in zip(recs, items, strict=True):
            if (stage, name) in opairs:
                ref = np.asarray(opairs[(stage, name)], dtype=np.float64)
                rec = _with_oracle(rec, a, e, ref, tol, bd)
            records.append(rec)
            if keep_arrays:
                arrays[(k, stage, name)] = (a, e)
        if want_fd and not opinions:
            bad = [r for r in records[-len(pairs) :] if r.stage == "grad" and not r.passed]
            if bad:
                names = [r.tensor for r in bad]
                fd = fd_grads(spec, p, X, y, names)
                fd_t = fd if torch_p is p else fd_grads(spec, torch_p, X, y, names)
                opinions = [opinion(k, n, grads[n], t.grads[n], fd[n], fd_t[n]) for n in names]
        p, state = new_p, new_state
        torch_p = p if mode == "resync" else t.params
        torch_state = None if mode == "resync" else t.state
    result = ParityResult(spec, mode, steps, tuple(records), tuple(opinions), arrays)
    if framework != "torch":
        result = replace(result, framework=framework)
    if capped:
        again = _run(spec, steps, "resync", net, p0, (X, y), oracle, finite_differences,
                     keep_arrays, rtol, atol, framework)  # fmt: skip
        result = replace(result, resync=again, growth=growth[1])
    return result


def _check_against(spec: Spec, against: str) -> None:
    """``against`` names a known framework; JAX holds dense specs only (SpecError otherwise)."""
    from nnparity.scratch import SpecError

    if against not in FRAMEWORKS:
        raise SpecError(
            f"against must be one of {', '.join(FRAMEWORKS)}, got {against!r} (several at "
            "once: nnparity.reference.against.run_against)"
        )
    if against == "jax" and spec.layered:
        raise SpecError(
            "--against jax holds dense specs only: the JAX twin has no conv, pooling, "
            "batchnorm, layernorm or dropout layers; compare a layered spec against torch"
        )


def _jax_twin(spec: Spec) -> Any:
    """The JAX twin (``nnparity.reference.jax``; ImportError naming the extra without it)."""
    from .jax import JaxTwin

    return JaxTwin(spec)


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
    ub = env.step(P, st64, g64, gbound, dP, dst)
    return {**gb, **ub}


def _pairs(out: Array, loss: float, grads: dict, params: dict, state: Any, t: Any) -> dict:
    pairs: dict[tuple[str, str], tuple[Any, Any]] = {
        ("forward", "output"): (out, t.out),
        ("loss", "loss"): (loss, t.loss),
    }
    for n in grads:
        pairs[("grad", n)] = (grads[n], t.grads.get(n, np.full_like(grads[n], np.nan)))
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
    if not np.isfinite(loss):  # a run gone non-finite has grown past any cap
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
) -> Record:
    """Add each float32 side's largest error against the float64 ``ref``; a record outside
    tolerance passes (``judged_by='oracle'``) when every element outside its allowance is no
    further from ``ref`` than ``ORACLE_FACTOR`` times the larger of PyTorch's own error there
    and the element's round-off allowance ``bound``. Without ``tol`` (callers that keep their
    own allowances) the rule compares the two tensors' largest errors."""
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
            scale = float(ae.max()) if ae.size else 0.0
            bd = 0.0 if bound is None else np.asarray(bound, dtype=np.float64)
            allowed = tol.atol * (scale if scale > 0 else 1.0) + tol.rtol * ae + bd
            outside = np.abs(a64 - e64) > allowed
            ok = bool(np.all(~outside | (ds <= ORACLE_FACTOR * np.maximum(dt, bd))))
    return replace(rec, passed=True, judged_by="oracle") if ok else rec


def _cast_state(state: Any) -> Any:
    fields = {}
    for key, v in state._asdict().items():
        fields[key] = v if key == "step" else {n: a.astype(np.float64) for n, a in v.items()}
    return type(state)(**fields)
