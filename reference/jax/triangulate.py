"""Three references, one verdict: run scratch, the PyTorch twin and the JAX twin from the same
weights and data, compare every tensor pairwise, and name the odd one out.

For each (step, stage, tensor) a ``Row`` holds the three pairwise max differences
(scratch-torch, scratch-jax, torch-jax). Two sides agree on a tensor when every element has
``|a - b| <= atol * scale + rtol * max(|a|, |b|)``, with the ``torch.testing.assert_close``
defaults for the dtype (float64 1e-7/1e-7, float32 1.3e-6/1e-5), ``scale`` the largest magnitude
in the tensor's group (all gradients of a step share one; each optimizer-state field shares one
across parameters; others use their own), and, in free mode, step k allowing k times as much.

Who is wrong: when PyTorch and JAX agree and scratch differs from both, scratch is wrong; when
scratch agrees with one framework and the other differs, that framework is the odd one out (a
convention of its own, or a bug in its twin); when all three differ, the frameworks disagree
(a convention or a twin bug) and scratch matches neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnparity.reference.twin import Twin
from nnparity.scratch import Network, Spec, SpecError, build, check_data, make_data

from .twin import JaxTwin

Array = np.ndarray
MODES = ("free", "resync")
SIDES = ("scratch", "torch", "jax")
PAIRS = (("scratch", "torch"), ("scratch", "jax"), ("torch", "jax"))
AGREE = {"float64": (1e-7, 1e-7), "float32": (1.3e-6, 1e-5)}  # (rtol, atol)
NAMES = {"scratch": "scratch", "torch": "PyTorch", "jax": "JAX"}


@dataclass(frozen=True)
class Row:
    """One tensor at one step: ``diff[i]`` is max |a - b| for ``PAIRS[i]``, ``agree[i]``
    whether that pair is within tolerance."""

    step: int
    stage: str
    tensor: str
    diff: tuple[float, float, float]
    agree: tuple[bool, bool, bool]

    @property
    def odd(self) -> str | None:
        """'scratch', 'torch' or 'jax' (the one that differs from two agreeing sides), 'all'
        (all three differ), 'unclear' (one pair only differs), None (all agree)."""
        st, sj, tj = self.agree
        if st and sj and tj:
            return None
        if not (st or sj or tj):
            return "all"
        if tj and not st and not sj:
            return "scratch"
        if sj and not st and not tj:
            return "torch"
        if st and not sj and not tj:
            return "jax"
        return "unclear"

    @property
    def where(self) -> str:
        d = ", ".join(f"{a}-{b} {x:.3g}" for (a, b), x in zip(PAIRS, self.diff, strict=True))
        return f"step {self.step} {self.stage} {self.tensor} ({d})"


@dataclass(frozen=True)
class Triangulation:
    spec: Spec
    mode: str
    steps: int
    rows: tuple[Row, ...]

    @property
    def disagreements(self) -> list[Row]:
        return [r for r in self.rows if r.odd is not None]

    @property
    def odd_one_out(self) -> str | None:
        """The verdict in one word: None when all agree, else the first decisive row's
        ``odd`` ('scratch', 'torch', 'jax', 'all'), or 'unclear'."""
        bad = self.disagreements
        if not bad:
            return None
        decisive = [r for r in bad if r.odd != "unclear"]
        return (decisive or bad)[0].odd

    def max_diff(self) -> dict[str, float]:
        """The largest difference of each pair over every row."""
        return {
            f"{a}-{b}": max((r.diff[i] for r in self.rows), default=0.0)
            for i, (a, b) in enumerate(PAIRS)
        }

    def verdict(self) -> str:
        """One line naming the odd one out (scratch vs torch, scratch vs jax, torch vs jax)."""
        odd = self.odd_one_out
        if odd is None:
            m = ", ".join(f"{k} {v:.3g}" for k, v in self.max_diff().items())
            return (
                f"all three agree: {len(self.rows)} comparisons over {self.steps} step(s) "
                f"(max differences {m})"
            )
        bad = self.disagreements
        first = next(r for r in bad if r.odd == odd)
        at = f"first at {first.where}; {len(bad)} of {len(self.rows)} comparisons differ"
        if odd == "scratch":
            return f"scratch is the odd one out: PyTorch and JAX agree, scratch is wrong, {at}"
        if odd in ("torch", "jax"):
            other = "JAX" if odd == "torch" else "PyTorch"
            return (
                f"{NAMES[odd]} is the odd one out: scratch and {other} agree; a convention of "
                f"{NAMES[odd]}'s or a bug in its twin, {at}"
            )
        if odd == "all":
            return (
                "all three differ: PyTorch and JAX disagree (a convention or a twin bug) and "
                f"scratch matches neither, {at}"
            )
        return f"unclear: one pair differs while both agree with the third (borderline), {at}"


def triangulate(
    spec: Spec | str,
    steps: int = 3,
    mode: str = "free",
    *,
    net: Network | None = None,
    params: dict[str, Array] | None = None,
    data: tuple[Any, Any] | None = None,
) -> Triangulation:
    """Run ``steps`` training steps of scratch (or ``net``), the PyTorch twin and the JAX twin
    from the same weights (``net.init_params()`` unless given) and data (``make_data`` unless
    given); compare each tensor three ways. ``mode``: 'free' (each side follows its own
    trajectory) or 'resync' (both twins reset to scratch's weights and state before each step)."""
    spec = Spec.parse(spec) if isinstance(spec, str) else spec
    if mode not in MODES:
        raise SpecError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if steps < 1:
        raise SpecError(f"steps must be >= 1, got {steps}")
    net = net or build(spec)
    X, y = check_data(spec, *data) if data is not None else make_data(spec)
    p = {k: np.array(v, dtype=spec.dtype) for k, v in (params or net.init_params()).items()}
    state = net.init_state(p)
    torch_twin, jax_twin = Twin(spec), JaxTwin(spec)
    torch_twin.set_params(p)
    jax_twin.set_params(p)
    Xt, yt = torch_twin.tensors(X, y)
    Xj, yj = jax_twin.tensors(X, y)
    rows: list[Row] = []
    for k in range(1, steps + 1):
        if mode == "resync" and k > 1:
            for twin in (torch_twin, jax_twin):
                twin.set_params(p)
                twin.set_state(state)
        with np.errstate(all="ignore"):
            loss, grads, out = net.loss_and_grads(p, X, y)
            new_p, new_state = net.opt.update(grads, state, p)
        mine = _tensors(out, loss, grads, new_p, _state_dict(new_state))
        t, j = torch_twin.step(Xt, yt), jax_twin.step(Xj, yj)
        theirs = _tensors(*t[:4], t.state), _tensors(*j[:4], j.state)
        rows += _rows(k, spec.dtype, k if mode == "free" else 1, mine, *theirs)
        p, state = new_p, new_state
    return Triangulation(spec, mode, steps, tuple(rows))


def _state_dict(state: Any) -> dict[str, Any]:
    return {k: v for k, v in state._asdict().items() if k != "step" and v}


def _tensors(out: Any, loss: float, grads: dict, params: dict, state: dict) -> dict:
    """(stage, tensor) -> array, in the engine's stage names."""
    t: dict[tuple[str, str], Any] = {("forward", "output"): out, ("loss", "loss"): loss}
    t.update({("grad", n): v for n, v in grads.items()})
    t.update({("update", n): v for n, v in params.items()})
    for key, bufs in state.items():
        if key != "step":
            t.update({("optimizer_state", f"{key}.{n}"): v for n, v in bufs.items()})
    return t


def _group(stage: str, name: str) -> str:
    if stage == "grad":
        return "grad"
    if stage == "optimizer_state":
        return "state:" + name.split(".")[0]
    return f"{stage}:{name}"


def _rows(k: int, dtype: str, widen: float, *sides: dict) -> list[Row]:
    rtol, atol = (widen * x for x in AGREE[dtype])
    keys = list(sides[0])
    for other in sides[1:]:  # a tensor one side lacks is a disagreement, shown as NaN
        keys += [key for key in other if key not in keys]
    arrays = {
        key: [np.asarray(s.get(key, np.nan), dtype=np.float64) for s in sides] for key in keys
    }
    scales: dict[str, float] = {}
    for (stage, name), trio in arrays.items():
        g = _group(stage, name)
        m = max(float(np.max(np.abs(a), initial=0.0)) for a in trio)
        scales[g] = max(scales.get(g, 0.0), m if np.isfinite(m) else 0.0)
    rows = []
    for (stage, name), trio in arrays.items():
        scale = scales[_group(stage, name)] or 1.0
        named = dict(zip(SIDES, trio, strict=True))
        diffs, agree = [], []
        for a, b in PAIRS:
            d, ok = _pair(named[a], named[b], rtol, atol * scale)
            diffs.append(d)
            agree.append(ok)
        rows.append(Row(k, stage, name, tuple(diffs), tuple(agree)))  # type: ignore[arg-type]
    return rows


def _pair(a: Array, b: Array, rtol: float, atol: float) -> tuple[float, bool]:
    """(max |a - b|, within tolerance); NaN where both are NaN counts as equal, NaN against a
    number as a difference; shapes that differ never agree."""
    if a.shape != b.shape:
        return float("nan"), False
    with np.errstate(invalid="ignore"):
        same_nan = np.isnan(a) & np.isnan(b)
        same_inf = np.isinf(a) & (a == b)
        d = np.where(same_nan | same_inf, 0.0, np.abs(a - b))
        bound = atol + rtol * np.maximum(np.abs(a), np.abs(b))
        ok = bool(np.all(np.where(same_nan | same_inf, True, d <= bound)))
    finite = d[np.isfinite(d)]
    dmax = float(finite.max(initial=0.0)) if finite.size == d.size else float("nan")
    return dmax, ok


def from_results(torch_result: Any, jax_result: Any) -> Triangulation:
    """The triangulation of two engine runs of one spec (``run_parity(..., keep_arrays=True)``
    against "torch" and against "jax", same mode, weights and data): scratch-torch and
    scratch-jax are judged as the engine judged them (its records' ``passed``, its round-off
    envelope and float64 oracle), torch-jax by this module's rule, on the arrays both runs
    kept. A run that free mode could not judge (its ``resync`` decides) is read from its
    resync run; both must then be resync runs."""
    t = torch_result.resync or torch_result
    j = jax_result.resync or jax_result
    if t.mode != j.mode or t.steps != j.steps:
        raise ValueError(
            f"from_results needs two runs of one mode and length: torch {t.mode}/{t.steps}, "
            f"jax {j.mode}/{j.steps}"
        )
    if not t.arrays or not j.arrays:
        raise ValueError("from_results needs run_parity(..., keep_arrays=True) on both runs")
    passed = {
        fw: {(r.step, r.stage, r.tensor): r for r in res.records}
        for fw, res in (("torch", t), ("jax", j))
    }
    spec = t.spec
    rows: list[Row] = []
    for k in range(1, t.steps + 1):
        keys = [key[1:] for key in t.arrays if key[0] == k]
        mine = {key: t.arrays[(k, *key)][0] for key in keys}
        theirs_t = {key: t.arrays[(k, *key)][1] for key in keys}
        theirs_j = {key: j.arrays[(k, *key)][1] for key in keys if (k, *key) in j.arrays}
        widen = k if t.mode == "free" else 1
        for row in _rows(k, spec.dtype, widen, mine, theirs_t, theirs_j):
            st = passed["torch"].get((k, row.stage, row.tensor))
            sj = passed["jax"].get((k, row.stage, row.tensor))
            diff = (
                row.diff[0] if st is None else st.max_abs,
                row.diff[1] if sj is None else sj.max_abs,
                row.diff[2],
            )
            agree = (
                row.agree[0] if st is None else st.passed,
                row.agree[1] if sj is None else sj.passed,
                row.agree[2],
            )
            rows.append(Row(k, row.stage, row.tensor, diff, agree))
    return Triangulation(spec, t.mode, t.steps, tuple(rows))
