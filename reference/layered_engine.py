"""The parity engine's layered path (conv, pooling, batchnorm, layernorm, dropout): scratch and
its PyTorch twin step by step from the same weights, data and dropout masks.

Per step it compares the training-mode output, the loss, every learnable parameter's gradient
(W, b, gamma, beta), every updated parameter, the optimizer state and the ``buffers`` (each
batchnorm's running_mean and running_var). After the last step an ``eval`` record compares the
eval-mode output (running statistics, no dropout) of both sides at scratch's final weights and
buffers. Dropout masks come from scratch's step and the twin applies them (no RNG matching).

The allowance is simpler than the dense path's per-element round-off envelope
(``roundoff.py``), and stated here in full. An element passes when

    |scratch - torch| <= atol * max|torch| + rtol * |torch| + bound

with assert_close's (rtol, atol) (widened by the step in free mode, as the dense rule), and
``bound`` the sum of:

- **layer scale**: ``atol * S``, ``S`` the largest value of the same stage over the same
  layer's tensors (a bias gradient that is zero in exact arithmetic because a batchnorm
  follows is round-off of the size of its layer's weight gradient, not of itself);
- **terms** (gradients): ``SAFETY * u * E``, ``E`` a first-order bound on the element's
  round-off in units of u: each layer's summation length times the terms of its own operation,
  carried down the absolute chain (``layered_terms.abs_grads(errors=True)``; never wider than
  ``K T``, ``T`` the magnitude of every term the element sums and ``K`` all the lengths);
- **optimizer sensitivity** (updates and optimizer state): the float64 optimizer stepped at
  the gradient moved by its own allowance both ways (``roundoff.Envelope.step``), so an Adam
  step of a gradient that is round-off gets the full step as allowance;
- **drift** (free mode): the float64 twin stepped at scratch's weights, state and buffers and
  at the twin's; their difference per element is what the drift between the two trajectories
  explains, in exact arithmetic;
- **forward round-off** (gradients and running statistics, counted once): what the forward
  pass's own rounding moves them by, derivative flips at a kink included (``layered_kinks``).

For float32 specs the float64 oracle then rescues, per element, a value no further from it than
``ORACLE_FACTOR`` times the larger of PyTorch's own error and the bound.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from nnparity.scratch import NetState, Spec

from .compare import Record, compare_many
from .finite_diff import MAX_FD_PARAMS, Opinion, fd_grads, opinion
from .layered_kinks import forward_allowances
from .layered_terms import abs_grads
from .roundoff import SAFETY, Envelope, unit_roundoff
from .tolerance import Tolerance, tolerance_for
from .twin import Twin, TwinStep

Array = np.ndarray
_LAYER = re.compile(r"(\d+)$")


def layer_of(name: str) -> str:
    """The layer number a record's tensor belongs to ('exp_avg.gamma3' -> '3'); '' if none."""
    m = _LAYER.search(name)
    return m.group(1) if m else ""


class _Probe:
    """The optimizer-sensitivity half of ``roundoff.Envelope`` (its ``step``), without the
    dense forward/backward half."""

    step = Envelope.step
    _step = Envelope._step

    def __init__(self, spec: Spec):
        from nnparity.scratch import build

        self.u = unit_roundoff(spec.dtype)
        self.opt = build(spec.replace(dtype="float64")).opt


def cast_state(state: Any) -> Any:
    """An optimizer state NamedTuple (or a ``NetState``) with every array in float64."""
    if isinstance(state, NetState):
        bufs = {n: v.astype(np.float64) for n, v in state.buffers.items()}
        return NetState(cast_state(state.opt), bufs, state.masks)
    fields = {}
    for key, v in state._asdict().items():
        fields[key] = v if key == "step" else {n: a.astype(np.float64) for n, a in v.items()}
    return type(state)(**fields)


def step_pairs(out: Array, loss: float, grads: dict, params: dict, state: NetState, t: TwinStep):
    """(stage, tensor) -> (scratch, torch) for one step, buffers included."""
    nan = lambda v: np.full_like(v, np.nan)  # noqa: E731
    pairs: dict[tuple[str, str], tuple[Any, Any]] = {
        ("forward", "output"): (out, t.out),
        ("loss", "loss"): (loss, t.loss),
    }
    for n, g in grads.items():
        pairs[("grad", n)] = (g, t.grads[n] if n in t.grads else nan(g))
    for n in params:
        pairs[("update", n)] = (params[n], t.params[n])
    for key, bufs in state.opt._asdict().items():
        if key == "step" or not bufs:
            continue
        for n, v in bufs.items():
            theirs = t.state.get(key, {}).get(n)
            pairs[("optimizer_state", f"{key}.{n}")] = (v, nan(v) if theirs is None else theirs)
    if "step" in t.state:
        pairs[("optimizer_state", "step")] = (float(state.opt.step), float(t.state["step"]))
    for n, v in state.buffers.items():
        pairs[("buffers", n)] = (v, t.buffers.get(n, nan(v)))
    return pairs


def torch_values(t: TwinStep) -> dict[tuple[str, str], Any]:
    """(stage, tensor) -> the twin's value, for the oracle and the drift probe."""
    out: dict[tuple[str, str], Any] = {("forward", "output"): t.out, ("loss", "loss"): t.loss}
    out.update({("grad", n): v for n, v in t.grads.items()})
    out.update({("update", n): v for n, v in t.params.items()})
    for key, bufs in t.state.items():
        if key != "step":
            out.update({("optimizer_state", f"{key}.{n}"): v for n, v in bufs.items()})
    out.update({("buffers", n): v for n, v in t.buffers.items()})
    return out


def copy_twin(src: Twin, dst: Twin) -> None:
    """Make ``dst`` (float64) hold ``src``'s weights, buffers and optimizer state."""
    import torch

    dst.set_params({n: v.astype(np.float64) for n, v in src.get_params().items()})
    dst.set_buffers({n: v.astype(np.float64) for n, v in src.get_buffers().items()})
    dst.optimizer.state.clear()
    for n, p in src.params.items():
        st = src.optimizer.state.get(p)
        if st:
            dst.optimizer.state[dst.params[n]] = {
                k: (v.detach().clone().to(torch.float64) if v.is_floating_point() else v.clone())
                if isinstance(v, torch.Tensor)
                else v
                for k, v in st.items()
            }


def layer_scales(pairs: dict, stage: str) -> dict[str, float]:
    """Layer number -> the largest |torch value| of ``stage`` over that layer's tensors."""
    out: dict[str, float] = {}
    for (st, n), (_, e) in pairs.items():
        if st == stage:
            e64 = np.abs(np.asarray(e, dtype=np.float64))
            m = float(np.nanmax(e64, initial=0.0)) if e64.size else 0.0
            out[layer_of(n)] = max(out.get(layer_of(n), 0.0), m if np.isfinite(m) else 0.0)
    return out


def bounds(
    spec: Spec,
    tol: Tolerance,
    pairs: dict,
    p: dict[str, Array],
    state: NetState,
    probe: _Probe,
    terms: tuple[int, dict[str, Array]],
    drift: dict[tuple[str, str], Array],
    forward: dict[tuple[str, str], Array] | None = None,
) -> dict[tuple[str, str], Any]:
    """The ``bound`` of every record of one step (see the module docstring); ``forward``:
    what the forward round-off can move each gradient and running statistic, kinks included
    (``layered_kinks``), counted once."""
    forward = forward or {}
    u = probe.u
    out: dict[tuple[str, str], Any] = {}
    scales = {st: layer_scales(pairs, st) for st in ("grad", "update", "optimizer_state")}
    gbound: dict[str, Array] = {}
    g64: dict[str, Array] = {}
    for (st, n), (_, e) in pairs.items():
        if st in scales:
            S = scales[st].get(layer_of(n), 0.0)
            out[(st, n)] = tol.atol * S
            if st == "grad":
                e64 = np.asarray(e, dtype=np.float64)
                T = terms[1].get(n)
                if T is not None and T.shape == e64.shape:
                    out[(st, n)] = out[(st, n)] + SAFETY * u * terms[0] * T
                F = forward.get((st, n))
                if F is not None and F.shape == e64.shape:
                    out[(st, n)] = out[(st, n)] + F
                g64[n] = e64
                own = tol.atol * max(float(np.abs(e64).max(initial=0.0)), 1e-300)
                gbound[n] = own + tol.rtol * np.abs(e64) + out[(st, n)]
    try:
        with np.errstate(all="ignore"):
            P = {n: np.asarray(v, dtype=np.float64) for n, v in p.items()}
            moved = probe.step(P, cast_state(state.opt), g64, gbound)
        for key, v in moved.items():
            out[key] = out.get(key, 0.0) + np.where(np.isfinite(v), v, 0.0)
    except (RuntimeError, ValueError, TypeError, KeyError, AttributeError):
        pass  # arrays that do not fit the spec: their records fail on shape
    for key, F in forward.items():
        if key[0] == "buffers" and key in pairs and np.shape(F) == np.shape(pairs[key][1]):
            out[key] = out.get(key, 0.0) + F
    for key, d in drift.items():
        if key in out or key[0] in ("forward", "loss", "buffers"):
            out[key] = out.get(key, 0.0) + SAFETY * d
    return out


def drift_bounds(probe_twin: Twin, twin: Twin, p: dict, state: NetState, Xo, yo, masks) -> dict:
    """|F(scratch's weights) - F(the twin's weights)| per record, F the float64 twin's step:
    what the drift between the two free-running trajectories explains."""
    copy_twin(twin, probe_twin)
    at_twin = torch_values(probe_twin.step(Xo, yo, masks))
    probe_twin.set_params({n: v.astype(np.float64) for n, v in p.items()})
    probe_twin.set_state(cast_state(state))
    at_scratch = torch_values(probe_twin.step(Xo, yo, masks))
    out = {}
    for key, v in at_scratch.items():
        if key in at_twin:
            with np.errstate(invalid="ignore"):
                d = np.abs(np.asarray(v, np.float64) - np.asarray(at_twin[key], np.float64))
            out[key] = np.where(np.isfinite(d), d, 0.0)
    return out


def run_layered(
    spec: Spec,
    steps: int,
    mode: str,
    net: Any,
    params: dict[str, Array] | None,
    data: tuple[Any, Any] | None,
    oracle: bool,
    finite_differences: bool | None,
    keep_arrays: bool,
    rtol: float | None,
    atol: float | None,
    framework: str = "torch",  # layered specs are held to PyTorch only (engine refuses jax)
):
    """``engine._run`` for a layered spec (scratch's own ``LayeredNetwork``)."""
    from .judge import GROWTH_CAP, _growth, _with_oracle
    from .result import ParityResult

    X, y = net.check_data(*data) if data is not None else _data(spec)
    p = {k: np.array(v, dtype=spec.dtype) for k, v in (params or net.init_params()).items()}
    p0 = p
    state = net.init_state(p)
    twin = Twin(spec)
    twin.set_params(p)
    twin.set_buffers(state.buffers)
    Xt, yt = twin.tensors(X, y)
    X64 = X.astype(np.float64)
    y64 = y if y.dtype.kind == "i" else y.astype(np.float64)
    orc = probe_twin = None
    if oracle and spec.dtype == "float32":
        orc = Twin(spec.replace(dtype="float64"))
        orc.set_params({k: v.astype(np.float64) for k, v in p.items()})
        orc.set_buffers(cast_state(state).buffers)
    if mode == "free" and rtol is None:
        probe_twin = Twin(spec.replace(dtype="float64"))
    Xo, yo = (orc or probe_twin or twin).tensors(X64, y64)
    probe = _Probe(spec) if rtol is None else None
    text = str(spec)
    records: list[Record] = []
    arrays: dict[tuple[int, str, str], tuple[Any, Any]] = {}
    opinions: list[Opinion] = []
    want_fd = finite_differences
    if want_fd is None:
        want_fd = sum(v.size for v in p.values()) <= MAX_FD_PARAMS
    growth = (0.0, 1.0)
    torch_p = p
    capped = False
    for k in range(1, steps + 1):
        if mode == "resync" and k > 1:
            twin.set_params(p)
            twin.set_state(state)
            if orc is not None:
                orc.set_params({n: v.astype(np.float64) for n, v in p.items()})
                orc.set_state(cast_state(state))
        with np.errstate(all="ignore"):
            seed = [spec.seed, 2, int(state.opt.step)]
            out, trace = net.forward(p, X, buffers=state.buffers, seed=seed)
            grads = net.backward(p, trace, net.loss_fn.grad(out, y))
            loss = net.loss_fn.value(out, y)
            new_p, opt_state = net.opt.update(grads, state.opt, p)
        new_state = NetState(opt_state, trace.buffers, trace.masks)
        masks = trace.masks
        drift = {}
        if probe_twin is not None and k > 1:
            drift = drift_bounds(probe_twin, twin, p, state, Xo, yo, masks)
        t = twin.step(Xt, yt, masks)
        o = orc.step(Xo, yo, masks) if orc is not None else None
        growth = _growth(growth, t.loss, k)
        tol = tolerance_for(spec.dtype, k, mode, rtol, atol)
        if mode == "free":
            capped = capped or growth[1] > GROWTH_CAP
            tol = tol.widened(min(growth[1], GROWTH_CAP))
        pairs = step_pairs(out, loss, grads, new_p, new_state, t)
        bd = {}
        if probe is not None:
            T = (1, abs_grads(spec, p, X, y, state, masks, errors=True))
            fwd = forward_allowances(spec, p, X, y, state, masks, probe.u)
            bd = bounds(spec, tol, pairs, p, state, probe, T, drift, fwd)
        opairs = torch_values(o) if o is not None else {}
        items = [(st, n, a, e, None, bd.get((st, n))) for (st, n), (a, e) in pairs.items()]
        recs = compare_many(items, tol, spec=text, mode=mode, step=k)
        for rec, (stage, name, a, e, _, b) in zip(recs, items, strict=True):
            if (stage, name) in opairs:
                ref = np.asarray(opairs[(stage, name)], dtype=np.float64)
                rec = _with_oracle(rec, a, e, ref, tol, b)
            records.append(rec)
            if keep_arrays:
                arrays[(k, stage, name)] = (a, e)
        if want_fd and not opinions:
            bad = [r for r in records[-len(pairs) :] if r.stage == "grad" and not r.passed]
            if bad:
                names = [r.tensor for r in bad]
                fd = fd_grads(spec, p, X, y, names, masks=masks)
                fd_t = fd if torch_p is p else fd_grads(spec, torch_p, X, y, names, masks=masks)
                opinions = [opinion(k, n, grads[n], t.grads[n], fd[n], fd_t[n]) for n in names]
        p, state = new_p, new_state
        torch_p = p if mode == "resync" else t.params
    rec, a, e = _eval_record(spec, mode, net, twin, orc, p, state, (X, Xt, Xo), steps, rtol, atol)
    records.append(rec)
    if keep_arrays:
        arrays[(steps, "eval", "output")] = (a, e)
    result = ParityResult(spec, mode, steps, tuple(records), tuple(opinions), arrays)
    if capped:
        again = run_layered(spec, steps, "resync", net, p0, (X, y), oracle, finite_differences,
                            keep_arrays, rtol, atol)  # fmt: skip
        from dataclasses import replace

        result = replace(result, resync=again, growth=growth[1])
    return result


def _data(spec: Spec) -> tuple[Array, Array]:
    from nnparity.scratch import make_data

    return make_data(spec)


def _eval_record(spec, mode, net, twin, orc, p, state, Xs, step, rtol, atol):  # noqa: ANN001
    """Both sides' eval-mode output at scratch's final weights and buffers (so the record
    judges the eval-mode computation itself), with the float64 oracle for float32 specs."""
    from .compare import compare
    from .judge import _with_oracle

    X, Xt, Xo = Xs
    tol = tolerance_for(spec.dtype, 1, "resync", rtol, atol)
    with np.errstate(all="ignore"):
        a = net.forward(p, X, mode="eval", buffers=state.buffers)[0]
    twin.set_params(p)
    twin.set_buffers(state.buffers)
    e = twin.forward(Xt, mode="eval")
    rec = compare(a, e, tol, spec=str(spec), mode=mode, step=step, stage="eval", tensor="output")
    if orc is not None:
        orc.set_params({n: v.astype(np.float64) for n, v in p.items()})
        orc.set_buffers(cast_state(state).buffers)
        rec = _with_oracle(rec, a, e, orc.forward(Xo, mode="eval"), tol)
    return rec, a, e
