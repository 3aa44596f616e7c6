"""Comparison of two arrays into a frozen ``Record``, and the assert_close-style message.

``max_rel`` divides by ``max(|expected|, 1e-6 * max(scale, max |expected|))`` so entries near
zero do not explode and 0/0 never gives NaN. A non-finite value matches any non-finite value
on the other side (inf there, NaN here: both sides broke in the same place) and nothing
finite; the record says so in ``nonfinite``, which is where instability diagnosis starts.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, fields
from functools import cache
from typing import Any

import numpy as np

from .flat import Flat, flatten, is_flat_of
from .tolerance import Tolerance

STAGES = ("forward", "loss", "grad", "update", "optimizer_state", "buffers", "eval")


@dataclass(frozen=True)
class Record:
    """One comparison: scratch (actual) against the PyTorch twin (expected)."""

    spec: str
    mode: str
    step: int
    stage: str
    tensor: str
    shape: tuple[int, ...]
    dtype: str
    max_abs: float
    max_rel: float
    worst_index: tuple[int, ...]
    scratch_value: float
    torch_value: float
    mismatched: int
    numel: int
    rtol: float
    atol: float
    passed: bool
    nonfinite: bool = False
    oracle_scratch: float | None = None  # float32 only: max |scratch - torch float64|
    oracle_torch: float | None = None  # float32 only: max |torch float32 - torch float64|
    judged_by: str = "tolerance"  # or "oracle": outside tolerance, but no further from float64
    tol_used: float = 0.0  # max over elements of |diff| / allowed: passes when <= 1
    expected_dtype: str | None = None  # set when torch's dtype differs: the record fails
    framework: str = "torch"  # the reference held to: "torch" (the twin) or "jax" (JaxTwin)

    @property
    def where(self) -> str:
        return f"step {self.step} / {self.stage} / {self.tensor}"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["worst_index"] = list(self.worst_index)
        return d

    def message(self) -> str:
        """What failed, in the words of ``torch.testing.assert_close``."""
        pct = 100.0 * self.mismatched / max(self.numel, 1)
        idx = self.worst_index if self.shape else "()"
        lines = [
            f"{self.where} (shape {self.shape}, {self.dtype}, {self.mode} mode)",
            f"Mismatched elements: {self.mismatched} / {self.numel} ({pct:.1f}%)",
            f"Greatest absolute difference: {self.max_abs:.6g} at index {idx} "
            f"(up to {self.atol:.3g} * scale allowed)",
            f"Greatest relative difference: {self.max_rel:.6g} at index {idx} "
            f"(up to {self.rtol:.3g} allowed)",
            f"scratch: {self.scratch_value!r}, {self.framework}: {self.torch_value!r}",
        ]
        if self.expected_dtype:
            lines.append(
                f"dtype mismatch: scratch {self.dtype}, {self.framework} {self.expected_dtype} "
                "(a silent "
                "upcast, e.g. an np.float64 scalar times a float32 array)"
            )
        if self.nonfinite:
            lines.append("non-finite values present (NaN or Inf)")
        return "\n".join(lines)


@cache
def _name(dtype: np.dtype) -> str:
    return str(dtype)  # str() of a dtype takes microseconds; records are made by the thousand


def compare(
    actual: np.ndarray | float,
    expected: np.ndarray | float,
    tol: Tolerance,
    *,
    spec: str,
    mode: str,
    step: int,
    stage: str,
    tensor: str,
    scale: float | None = None,
    check_dtype: bool = True,
    bound: Any = None,
) -> Record:
    """Compare scratch's ``actual`` with torch's ``expected``: shapes first, then dtypes (as
    ``torch.testing.assert_close``: a float32 array that became float64 fails), then values
    elementwise. ``scale`` multiplies atol; by default max|expected| of this tensor. ``bound``
    (an array broadcastable to the shape, or None) is each element's round-off allowance,
    added to ``atol * scale + rtol * |expected|`` (``nnparity.reference.roundoff``)."""
    a = np.asarray(actual)
    e = np.asarray(expected)
    dtype = _name(a.dtype)
    if a.shape != e.shape:
        n = max(a.size, e.size)
        return Record(
            spec,
            mode,
            step,
            stage,
            tensor,
            tuple(a.shape),
            dtype,
            np.inf,
            np.inf,
            (),
            np.nan,
            np.nan,
            n,
            n,
            tol.rtol,
            tol.atol,
            False,
            tol_used=np.inf,
        )
    a64 = a.astype(np.float64, copy=False)
    e64 = e.astype(np.float64, copy=False)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.abs(a64 - e64)
        nonfinite = False
        if not np.isfinite(diff.sum()):  # one reduction; an overflowing sum of finite values
            fin_a, fin_e = np.isfinite(a64), np.isfinite(e64)  # also lands here, harmlessly
            nonfinite = not (fin_a.all() and fin_e.all())
            # a non-finite value matches any non-finite value, and nothing finite
            diff = np.where(fin_a & fin_e, diff, np.where(~fin_a & ~fin_e, 0.0, np.inf))
            ae = np.abs(np.where(fin_e, e64, 0.0))
        else:
            ae = np.abs(e64)
        if scale is None:
            scale = float(ae.max()) if ae.size else 0.0
        scale = scale if scale > 0 else 1.0
        allowed = tol.atol * scale + tol.rtol * ae
        if bound is not None:
            allowed = allowed + _finite(bound)
        used = _used(diff, allowed)
        if a.size:
            tol_used = float(used.max())
            if tol_used > 1:  # some element is outside: report the one furthest outside
                flat = int(np.argmax(diff - allowed))
                n_bad = int(np.count_nonzero(diff > allowed))
                max_abs = float(diff.max())
            else:
                flat = int(np.argmax(diff))
                n_bad = 0
                max_abs = float(diff.flat[flat])
            floor = 1e-6 * max(scale, float(ae.max()))  # a scale below the tensor's own (a
            max_rel = float((diff / np.maximum(ae, floor)).max())  # bound's) is none here
            worst = _unravel(flat, a.shape)
            sv, tv = float(a64.flat[flat]), float(e64.flat[flat])
        else:
            worst, sv, tv, max_abs, max_rel, tol_used, n_bad = (), np.nan, np.nan, 0.0, 0.0, 0.0, 0
    return _record(_shared(spec, mode, step, tol), stage, tensor, a, e, check_dtype,
                   max_abs, max_rel, worst, sv, tv, n_bad, tol_used, nonfinite)  # fmt: skip


def _shared(spec: str, mode: str, step: int, tol: Tolerance) -> dict[str, Any]:
    """The fields every record of one comparison call shares, the defaults included."""
    return {**_DEFAULTS, "spec": spec, "mode": mode, "step": step, "rtol": tol.rtol,
            "atol": tol.atol}  # fmt: skip


def _record(
    shared: dict[str, Any],
    stage: str,
    tensor: str,
    a: np.ndarray,
    e: np.ndarray,
    check_dtype: bool,
    max_abs: float,
    max_rel: float,
    worst: tuple[int, ...],
    sv: float,
    tv: float,
    n_bad: int,
    tol_used: float,
    nonfinite: bool,
) -> Record:
    """The record of a value comparison: it passes when no element is outside tolerance and,
    with ``check_dtype``, both sides have one dtype. Built as a dict set in place of the frozen
    dataclass's ``object.__setattr__`` per field (3.8 us down to 1.1 us; records are made by
    the thousand): ``shared`` (``_shared``) and these fields are every field of ``Record``
    (tests/reference/test_compare.py compares with records made by ``Record(...)``)."""
    ad = a.dtype
    other = _name(e.dtype) if check_dtype and e.dtype != ad else None
    d = shared.copy()
    d["stage"] = stage
    d["tensor"] = tensor
    d["shape"] = a.shape
    d["dtype"] = _name(ad)
    d["max_abs"] = max_abs
    d["max_rel"] = max_rel
    d["worst_index"] = worst
    d["scratch_value"] = sv
    d["torch_value"] = tv
    d["mismatched"] = n_bad
    d["numel"] = a.size
    d["passed"] = n_bad == 0 and other is None
    d["nonfinite"] = nonfinite
    d["tol_used"] = tol_used
    d["expected_dtype"] = other
    r = _new(Record)
    _set(r, "__dict__", d)
    return r


_new, _set = object.__new__, object.__setattr__
_DEFAULTS = {f.name: f.default for f in fields(Record) if f.default is not MISSING}


def compare_many(
    items: list[tuple],
    tol: Tolerance,
    *,
    spec: str,
    mode: str,
    step: int,
    check_dtype: bool = True,
    flat: Flat | None = None,
) -> list[Record]:
    """``compare`` over many ``(stage, tensor, actual, expected, scale[, bound])`` at once: the
    same records, with one pass of NumPy over all the elements instead of one per tensor. Steps
    with non-finite values, empty or misshapen tensors, or atol = 0 take ``compare`` one by
    one. ``flat``: ``flatten`` of the items' (actual, expected) pairs, if already made."""
    items = [it if len(it) == 6 else (*it, None) for it in items]

    def one_by_one() -> list[Record]:
        return [
            compare(a, e, tol, spec=spec, mode=mode, step=step, stage=st, tensor=name,
                    scale=sc, check_dtype=check_dtype, bound=bd)
            for st, name, a, e, sc, bd in items
        ]  # fmt: skip

    if flat is not None and not is_flat_of(flat, items):
        raise ValueError("compare_many(flat=...) takes flatten() of these items' own pairs")
    flat = flat or flatten([(a, e) for _, _, a, e, _, _ in items])
    if tol.atol <= 0 or flat is None:
        return one_by_one()
    return compare_flat(items, tol, flat, spec=spec, mode=mode, step=step,
                        check_dtype=check_dtype) or one_by_one()  # fmt: skip


def compare_flat(
    items: list[tuple],
    tol: Tolerance,
    flat: Flat,
    *,
    spec: str,
    mode: str,
    step: int,
    check_dtype: bool = True,
) -> list[Record]:
    """``compare_many``'s one pass, for 6-tuple ``items`` whose (actual, expected) pairs
    ``flat`` was made from, in order (the caller's word: ``compare_many`` checks it), and
    atol > 0; [] where a value is not finite (``compare_many`` then compares one by one)."""
    A, E, diff, ae, starts, seg = flat.A, flat.E, flat.D, flat.AE, flat.starts, flat.segment
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if not math.isfinite(diff.sum()):
            return []
        given = [it[4] for it in items]  # each tensor's scale: given, else max |expected|
        if given.count(None) == len(given):
            top = np.maximum.reduceat(ae, starts)
        else:
            spans = zip(given, flat.starts_l, flat.sizes, strict=True)
            top = np.array([np.max(ae[o : o + n]) if g is None else g for g, o, n in spans])
        top[~(top > 0)] = 1.0  # a tensor of zeros: atol alone, unscaled
        s = top[seg]
        allowed = tol.atol * s
        allowed += tol.rtol * ae
        if any(it[5] is not None for it in items):
            B = np.concatenate([
                np.broadcast_to(np.asarray(0.0 if it[5] is None else it[5], np.float64), sh).ravel()
                for it, sh in zip(items, flat.shapes, strict=True)
            ])  # fmt: skip
            allowed += _finite(B)
        # diff / allowed: 0 / 0 (agreement where nothing is allowed) is NaN, which fmax skips
        used_max = np.fmax.reduceat(diff / allowed, starts)
        np.fmax(used_max, 0.0, out=used_max)  # a tensor of 0 / 0 alone: 0
        if given.count(None) != len(given):  # max_rel's floor, as ``compare``'s: 1e-6 of the
            s = np.maximum(top, np.maximum.reduceat(ae, starts))[seg]  # greater of the two
        np.multiply(s, 1e-6, out=s)
        rel_max = np.maximum.reduceat(np.divide(diff, np.maximum(ae, s, out=s), out=s), starts)
        abs_max = np.maximum.reduceat(diff, starts)
    # each tensor's first greatest difference (argmax) at once: the first hit at or after its
    # start lies inside it, since its maximum is one of its own elements
    hits = np.flatnonzero(diff == abs_max[seg])
    first = hits[np.searchsorted(hits, starts)]
    shared = _shared(spec, mode, step, tol)
    out = []
    for (stage, name, *_), sh, (a, e), o, n, fl, um, rm, am, sv, tv in zip(
        items, flat.shapes, flat.arrays, flat.starts_l, flat.sizes, (first - starts).tolist(),
        used_max.tolist(), rel_max.tolist(), abs_max.tolist(), A[first].tolist(),
        E[first].tolist(), strict=True,
    ):  # fmt: skip
        n_bad = 0
        if um > 1:  # some element is outside: report the one furthest outside
            d, al = diff[o : o + n], allowed[o : o + n]
            fl, n_bad = int((d - al).argmax()), int(np.count_nonzero(d > al))
            sv, tv = float(A[o + fl]), float(E[o + fl])
        out.append(_record(shared, stage, name, a, e, check_dtype, am, rm, _unravel(fl, sh), sv,
                           tv, n_bad, um, False))  # fmt: skip
    return out


def _used(diff: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """diff / allowed per element: 0 where the two sides agree, inf where nothing is allowed
    (an allowance that underflowed to 0 too: 0 / 0 would be NaN, which no maximum sees)."""
    return np.divide(diff, allowed, out=np.zeros_like(diff), where=diff > 0)


def _finite(bound: Any) -> np.ndarray:
    """A round-off allowance with non-finite entries set to 0: an allowance that overflowed
    must never let a difference pass."""
    b = np.asarray(bound, dtype=np.float64)
    return np.where(np.isfinite(b), b, 0.0)


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``np.unravel_index`` (C order) in plain Python: a few hundred ns, not microseconds."""
    if len(shape) < 3:
        return divmod(flat, shape[1]) if len(shape) == 2 else (flat,) if shape else ()
    idx = []
    for dim in reversed(shape):
        flat, i = divmod(flat, dim)
        idx.append(i)
    return tuple(reversed(idx))
