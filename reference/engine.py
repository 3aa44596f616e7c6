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

from dataclasses import replace
from typing import Any

import numpy as np

from nnparity.scratch import Network, Spec, SpecError, build, check_data, make_data

from .compare import Record, compare_flat, compare_many, flatten
from .finite_diff import MAX_FD_PARAMS, Opinion, fd_grads, opinion
from .judge import (
    GROWTH_CAP,
    ORACLE_FACTOR,  # noqa: F401  (re-exported: the oracle rule of the module docstring)
    TINY,
    _bounds,
    _cannot_judge,
    _cast_state,
    _gradient_floors,
    _growth,
    _pairs,
    _pairs_torch,
    _with_oracle,
    _within_rtol,
)
from .protocol import Checked
from .resources import check_resources
from .result import FRAMEWORKS, ParityResult
from .roundoff import SAFETY, Envelope, unit_roundoff
from .threads import limited, threads_for
from .tolerance import tolerance_for
from .twin import Twin

Array = np.ndarray
MODES = ("free", "resync")


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
        raise SpecError(
            "run_parity(net=...) holds your network to PyTorch for dense specs; for a layered "
            "spec (conv, pooling, batchnorm, layernorm, dropout) give no net= (scratch's own), "
            "or a nnparity.scratch LayeredNetwork with layers of your own (its slots)"
        )
    if mode not in MODES:
        raise SpecError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if steps < 1:
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
    own = np.array if params else np.asarray  # your arrays are copied; fresh ones need not be
    p = {k: own(v, dtype=spec.dtype) for k, v in (params or net.init_params()).items()}
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
    env: Envelope | None = None  # built at the first step that needs it (_within_rtol)
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
    unjudged: tuple[int, str, str] | None = None  # (step, stage, why): cannot judge from it
    for k in range(1, steps + 1):
        if mode == "resync" and k > 1 and not _finite(p, state):
            break  # the twin cannot be reset to non-finite weights; the records said where
        if mode == "resync" and k > 1:
            twin.set_params(p)
            twin.set_state(state)
            if orc is not None:
                orc.set_params({n: v.astype(np.float64) for n, v in p.items()})
                orc.set_state(_cast_state(state))
        with np.errstate(all="ignore"):  # non-finite values are found and reported below
            # a network of your own gets its own copies: one that writes into X, y or its
            # weights in place cannot change what PyTorch (which shares X's memory) or later
            # steps see; scratch's own functions are pure (tests/scratch hold them to it)
            own = type(net) is Network
            loss, grads, out = (
                net.checked_loss_and_grads(p, X, y)  # X, y: check_data's above
                if own
                else net.loss_and_grads(_copy(p), X.copy(), y.copy())
            )
            new_p, new_state = net.opt.update(grads, state, p if own else _copy(p))
        t = twin.step(Xt, yt)
        o = orc.step(Xo, yo) if orc is not None else None
        growth = _growth(growth, t.loss, k)
        tol = tolerance_for(spec.dtype, k, mode, rtol, atol)
        if mode == "free":
            capped = capped or growth[1] > GROWTH_CAP
            tol = tol.widened(min(growth[1], GROWTH_CAP))
        pairs = _pairs(out, loss, grads, new_p, new_state, t)
        flat = flatten(list(pairs.values()))  # both sides' elements, once for both uses
        bounds = {}  # given rtol and atol replace the whole rule (assert_close's, scaled atol)
        if rtol is None and not _within_rtol(pairs, tol.rtol, flat):
            env = env or Envelope(spec)
            X64, y64 = X.astype(np.float64), (y if y.dtype.kind == "i" else y.astype(np.float64))
            bounds = _bounds(env, p, state, torch_p, torch_state, X64, y64, t.grads)
        opairs = _pairs_torch(o) if o is not None else {}
        floored: set = set()
        raw = bounds  # before the floors: the round-off allowances alone
        if bounds:
            bounds, floored = _gradient_floors(bounds, pairs, tol, env.u)
        items = [(st, n, a, e, TINY if (st, n) in floored else None, bounds.get((st, n)))
                 for (st, n), (a, e) in pairs.items()] if bounds else [
                 (st, n, a, e, None, None) for (st, n), (a, e) in pairs.items()]  # fmt: skip
        recs = None  # flat holds these very pairs: compared in one pass, unchecked
        if flat is not None and tol.atol > 0:
            recs = compare_flat(items, tol, flat, spec=text, mode=mode, step=k)
        recs = recs or compare_many(items, tol, spec=text, mode=mode, step=k)
        if framework != "torch":
            recs = [replace(r, framework=framework) for r in recs]
        if unjudged is None and any(r.nonfinite and not r.passed for r in recs):
            why = _cannot_judge(items, recs, spec.dtype, raw, unit_roundoff(spec.dtype))
            unjudged = None if why is None else (k, *why)
        if not opairs and not keep_arrays:
            records += recs  # nothing to add to a record or keep
        else:
            for rec, (stage, name, a, e, sc, bd) in zip(recs, items, strict=True):
                if (stage, name) in opairs:
                    ref = np.asarray(opairs[(stage, name)], dtype=np.float64)
                    r = raw.get((stage, name))  # the envelope; with drift (free mode, the two
                    m = None if r is None else (r if torch_p is not p else r / SAFETY)  # sides'
                    # weights apart) its parts are not separated here, and it is kept whole
                    rec = _with_oracle(rec, a, e, ref, tol, bd, sc, m)
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
    result = ParityResult(
        spec, mode, steps, tuple(records), tuple(opinions), arrays, unjudged=unjudged
    )
    if framework != "torch":
        result = replace(result, framework=framework)
    if capped:
        again = _run(spec, steps, "resync", net, p0, (X, y), oracle, finite_differences,
                     keep_arrays, rtol, atol, framework)  # fmt: skip
        result = replace(result, resync=again, growth=growth[1])
    return result


def _finite(p: dict[str, Array], state: Any) -> bool:
    """Whether every weight and optimizer state value is finite."""
    bufs = [v for k, d in state._asdict().items() if k != "step" for v in d.values()]
    return all(np.isfinite(v).all() for v in (*p.values(), *bufs))


def _check_against(spec: Spec, against: str) -> None:
    """``against`` names a known framework; JAX holds dense specs only (SpecError otherwise)."""
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
