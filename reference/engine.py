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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnparity.scratch import Network, Spec, build, check_data, make_data

from .compare import Record, compare_many
from .finite_diff import MAX_FD_PARAMS, Opinion, fd_grads, opinion
from .threads import limited, threads_for
from .tolerance import tolerance_for
from .twin import Twin

Array = np.ndarray
MODES = ("free", "resync")
ORACLE_FACTOR = 4.0  # see the module docstring


@dataclass(frozen=True)
class ParityResult:
    spec: Spec
    mode: str
    steps: int
    records: tuple[Record, ...]
    opinions: tuple[Opinion, ...] = ()
    arrays: dict[tuple[int, str, str], tuple[Any, Any]] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.records)

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if not r.passed]

    @property
    def first_failure(self) -> Record | None:
        return next(iter(self.failures), None)

    def message(self) -> str:
        """A torch.testing.assert_close-style account of the first failure, and the rest."""
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
) -> ParityResult:
    """Run ``steps`` training steps of scratch (or ``net``, any object with the ``Network``
    methods) and the twin; return every comparison.

    ``finite_differences``: None runs them on the first failing gradient when the network has
    at most 5,000 parameters. ``threads``: "auto" (1 for small specs), None, or a count.
    """
    spec = Spec.parse(spec) if isinstance(spec, str) else spec
    if mode not in MODES:
        from nnparity.scratch import SpecError

        raise SpecError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if steps < 1:
        from nnparity.scratch import SpecError

        raise SpecError(f"steps must be >= 1, got {steps}")
    tolerance_for(spec.dtype, 1, mode, rtol, atol)  # bad overrides fail before any work
    n_threads = threads_for(spec) if threads == "auto" else threads
    with limited(n_threads):
        return _run(
            spec,
            steps,
            mode,
            net or build(spec),
            params,
            data,
            oracle,
            finite_differences,
            keep_arrays,
            rtol,
            atol,
        )


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
) -> ParityResult:
    X, y = check_data(spec, *data) if data is not None else make_data(spec)
    p = {k: np.array(v, dtype=spec.dtype) for k, v in (params or net.init_params()).items()}
    state = net.init_state(p)
    twin = Twin(spec)
    twin.set_params(p)
    Xt, yt = twin.tensors(X, y)
    orc = None
    if oracle and spec.dtype == "float32":
        orc = Twin(spec.replace(dtype="float64"))
        orc.set_params({k: v.astype(np.float64) for k, v in p.items()})
        Xo, yo = orc.tensors(
            X.astype(np.float64), y if y.dtype.kind == "i" else y.astype(np.float64)
        )
    text = str(spec)
    records: list[Record] = []
    arrays: dict[tuple[int, str, str], tuple[Any, Any]] = {}
    opinions: list[Opinion] = []
    want_fd = finite_differences
    if want_fd is None:
        want_fd = sum(v.size for v in p.values()) <= MAX_FD_PARAMS
    growth = (0.0, 1.0)
    torch_p = p  # the twin's weights before the step (its own trajectory in free mode)
    for k in range(1, steps + 1):
        if mode == "resync" and k > 1:
            twin.set_params(p)
            twin.set_state(state)
            if orc is not None:
                orc.set_params({n: v.astype(np.float64) for n, v in p.items()})
                orc.set_state(_cast_state(state))
        with np.errstate(all="ignore"):  # non-finite values are found and reported below
            loss, grads, out = net.loss_and_grads(p, X, y)
            new_p, new_state = net.opt.update(grads, state, p)
        t = twin.step(Xt, yt)
        o = orc.step(Xo, yo) if orc is not None else None
        growth = _growth(growth, t.loss, k)
        tol = tolerance_for(spec.dtype, k, mode, rtol, atol)
        if mode == "free":
            tol = tol.widened(growth[1])
        pairs = _pairs(out, loss, grads, new_p, new_state, t)
        opairs = _pairs_torch(o) if o is not None else {}
        scales = _scales(pairs)
        items = [(st, n, a, e, scales.get(_group(st, n))) for (st, n), (a, e) in pairs.items()]
        recs = compare_many(items, tol, spec=text, mode=mode, step=k)
        for rec, (stage, name, a, e, _) in zip(recs, items, strict=True):
            if (stage, name) in opairs:
                ref = np.asarray(opairs[(stage, name)], dtype=np.float64)
                rec = _with_oracle(rec, a, e, ref)
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
    return ParityResult(spec, mode, steps, tuple(records), tuple(opinions), arrays)


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
    ratio = abs(loss) / first if first > 0 and np.isfinite(loss) else 1.0
    return first, max(growth[1], ratio, 1.0)


def _group(stage: str, name: str) -> str | None:
    """Tensors whose atol shares one scale: all gradients of a step; each optimizer-state
    field across parameters. Others (forward, loss, updated weights) use their own."""
    if stage == "grad":
        return "grad"
    if stage == "optimizer_state":
        return "state:" + name.split(".")[0]
    return None


def _scales(pairs: dict) -> dict[str, float]:
    """max |torch value| per group: a layer whose true gradient cancels to round-off (symmetric
    or saturated units) is judged against the step's largest gradient, not against its own
    noise."""
    out: dict[str, float] = {}
    for (stage, name), (_, e) in pairs.items():
        g = _group(stage, name)
        if g is not None:
            e = np.abs(np.asarray(e, dtype=np.float64))
            m = float(e.max(initial=0.0))
            if not np.isfinite(m):  # rare: the largest finite value
                m = float(e[np.isfinite(e)].max(initial=0.0))
            out[g] = max(out.get(g, 0.0), m)
    return out


def _pairs_torch(o: Any) -> dict:
    out: dict[tuple[str, str], Any] = {("forward", "output"): o.out, ("loss", "loss"): o.loss}
    out.update({("grad", n): v for n, v in o.grads.items()})
    out.update({("update", n): v for n, v in o.params.items()})
    for key, bufs in o.state.items():
        if key != "step":
            out.update({("optimizer_state", f"{key}.{n}"): v for n, v in bufs.items()})
    return out


def _with_oracle(rec: Record, a: Any, e: Any, ref: Array) -> Record:
    from dataclasses import replace

    a64 = np.asarray(a, dtype=np.float64)
    e64 = np.asarray(e, dtype=np.float64)
    if a64.shape != ref.shape:
        return rec
    with np.errstate(invalid="ignore"):
        es = float(np.max(np.abs(a64 - ref))) if ref.size else 0.0
        et = float(np.max(np.abs(e64 - ref))) if ref.size else 0.0
    rec = replace(rec, oracle_scratch=es, oracle_torch=et)
    if not rec.passed and not rec.nonfinite and not rec.expected_dtype and es <= ORACLE_FACTOR * et:
        rec = replace(rec, passed=True, judged_by="oracle")
    return rec


def _cast_state(state: Any) -> Any:
    fields = {}
    for key, v in state._asdict().items():
        fields[key] = v if key == "step" else {n: a.astype(np.float64) for n, a in v.items()}
    return type(state)(**fields)
