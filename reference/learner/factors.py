"""Scale factors: the named ones (N, 1/N, 2, D, H, N/B, N/M ..., each negated too) and the
least-squares fit of a learner's gradient as one constant c times a hypothesis's,
c = sum <g_L, g_h> / sum <g_h, g_h>, over the steps examined (``fit``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from .evidence import StepData
from .result import factor_text

Tensor = torch.Tensor


def proportion(a: object, e: object) -> tuple[float, float] | None:
    """(c, cos) of one pair of arrays: c = <a, e> / <e, e>, the least-squares constant with
    a = c e, and the cosine of the angle between them (1 where a is exactly c e, c > 0); None
    where either is all zeros or the sizes differ. Each caller holds cos to its own bound."""
    a = np.asarray(a, np.float64).ravel()
    e = np.asarray(e, np.float64).ravel()
    if a.size != e.size:
        return None
    ae, aa, ee = float(a @ e), float(a @ a), float(e @ e)
    if aa == 0 or ee == 0 or not (math.isfinite(aa) and math.isfinite(ee)):
        return None
    return ae / ee, ae / (math.sqrt(aa) * math.sqrt(ee))


def step_names(steps: list[StepData], sizes: tuple[int, ...]) -> list:
    """The named factors ``fit`` takes for these steps: one list, or one per step where the
    batches are uneven or shorter than the run's full one (N, and N/B, follow each step's N)."""
    batches = [s.a[0].shape[0] for s in steps]
    B = max([*batches, *(s.full for s in steps)])
    M = max(s.rows for s in steps)
    if len(set(batches)) > 1 or B != batches[0]:
        return [factors(n, sizes[-1], sizes[1:-1], merge=False, full=B, rows=M) for n in batches]
    return factors(batches[0], sizes[-1], sizes[1:-1], rows=M)


def _np(t: Tensor | np.ndarray) -> np.ndarray:
    """A tensor's values as an array (no copy)."""
    return t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) over every element (in their dtype, as torch's sum of the product)."""
    return float(np.dot(a.ravel(), b.ravel())) if a.size else 0.0


def _exact(pairs: list, k: float = 1.0) -> bool:
    """Each hypothesis times ``k`` equals the learner's values to rtol of its own scale,
    however small (then not a zero prediction)."""
    return all(
        not gh.size or float(np.abs(gl - k * gh).max()) <= rt * float(np.abs(k * gh).max())
        for gl, gh, _, rt in pairs
    )


@dataclass(frozen=True)
class Fit:
    ok: bool
    c: float
    cos: float
    factor: str | None  # "1", "N", "-1", ... or None for an unnamed constant
    cs: tuple[float, ...] | None = None  # per step, where the factor's value changes (N)
    zero: bool = False  # the hypothesis and the learner's values are 0 within tolerance
    err: float = 0.0  # max |g_L - c g_h| / (atol + rtol |c g_h|): how much tolerance it used

    def cost(self) -> float:
        return 0.0 if self.factor == "1" else (1.0 if self.factor else 2.0)

    def at(self, i: int) -> float:
        """The factor at the i-th step examined."""
        return self.cs[i] if self.cs else self.c

    def text(self, n: int | tuple[int, ...], d: int) -> str:
        """``c = 5.0000 = N = H (N = H = 5), cos = 1.0000``; N per step where it changes."""
        if self.zero:
            return "0 within tolerance, as yours,"
        named = ""
        if self.factor and self.factor not in ("1",):
            dims: dict[str, str] = {}
            widths = re.findall(r" with H = (\d+)", self.factor)
            if widths:
                dims["H"] = ", ".join(dict.fromkeys(widths))
            parts = re.sub(r" with H = \d+", "", self.factor).split(" = ")
            joined = " ".join(parts)
            if "N" in joined:
                ns = n if isinstance(n, tuple) else (n,)
                dims["N"] = ", ".join(str(v) for v in ns) if len(set(ns)) > 1 else str(ns[0])
            if "D" in joined:
                dims["D"] = str(d)
            groups: dict[str, list[str]] = {}
            for sym in ("N", "D", "H"):
                if sym in dims:
                    groups.setdefault(dims[sym], []).append(sym)
            where = ", ".join(f"{' = '.join(syms)} = {v}" for v, syms in groups.items())
            per = " per step" if ", " in dims.get("N", "") else ""
            named = f" = {' = '.join(parts)}" + (f" ({where}{per})" if where else "")
        c = factor_text(self.c) if not self.cs else ", ".join(factor_text(v) for v in self.cs)
        return f"c = {c}{named}, cos = {self.cos:.4f}"


Names = list[tuple[float, str]]


def _per_step(
    pairs: list[tuple[np.ndarray, np.ndarray, float, float]], names: list[Names], near: float
) -> tuple[str, tuple[float, ...]] | None:
    """The factor names that hold at every step with that step's own value (N of its batch):
    each step's least-squares c within ``near`` of the name's value there."""
    table = [dict((nm, v) for v, nm in ns) for ns in names]
    cs = []
    for gl, gh, _, _ in pairs:
        den = _dot(gh, gh)
        cs.append(_dot(gl, gh) / den if den > 0 else None)
    hits = []
    for _, nm in names[0]:
        vs = [t.get(nm) for t in table]
        if any(v is None for v in vs):
            continue
        if all(c is None or abs(c - v) <= near * abs(v) for c, v in zip(cs, vs, strict=True)):
            hits.append((nm, tuple(vs)))
    if not hits:
        return None
    vs = hits[0][1]
    return " = ".join(nm for nm, v in hits if v == vs), vs


def fit(
    pairs: list[tuple[Tensor, Tensor, float, float]],
    names: Names | list[Names],
    fixed: Fit | None = None,
    ref_zero: bool = False,
) -> Fit:
    """Fit g_L ~ c g_h over (g_L, g_h, atol, rtol) pairs from several steps; with ``fixed``,
    test that fit's c (the layer's weight factor) instead of fitting one. ``names``: the
    named factors, or one list per pair (steps of other batch sizes): a name is then taken
    only where it holds at every step with that step's value. A hypothesis that
    predicts zero (within tolerance) explains a learner's near-zero values only where
    PyTorch's gradient (``ref_zero``) is zero too, or where it equals them to ``rtol`` of
    its own scale (a clipped log's gradient at saturated samples, 1e-15 of PyTorch's). c =
    0, an unnamed fit uncorrelated with the learner's values, or one of a gradient that is 0
    within tolerance, is never a scale (an all-zero gradient is 0 times anything)."""
    pairs = [(_np(gl), _np(gh), at, rt) for gl, gh, at, rt in pairs]  # small: NumPy's calls
    num = sum(_dot(gl, gh) for gl, gh, _, _ in pairs)  # cost a fifth of torch's
    den = sum(_dot(gh, gh) for _, gh, _, _ in pairs)
    nl = sum(_dot(gl, gl) for gl, _, _, _ in pairs)
    if not all(math.isfinite(v) for v in (num, den, nl)):
        return Fit(False, math.nan, math.nan, None)
    tiny = all(bool((np.abs(gh) <= at).all()) for _, gh, at, _ in pairs)
    if den == 0.0 or (tiny and not _exact(pairs)):
        ok = ref_zero and all(bool((np.abs(gl) <= at).all()) for gl, _, at, _ in pairs)
        return Fit(ok, 1.0, 1.0 if nl == 0 else 0.0, "1", zero=True)
    c = num / den
    cos = num / (math.sqrt(den) * math.sqrt(nl)) if nl > 0 else 0.0  # (den nl underflows)
    near = max([1e-4] + [rt for *_, rt in pairs])  # a float16 learner's c is only this near
    cs: tuple[float, ...] | None = None
    if names and isinstance(names[0], list):
        got = _per_step(pairs, names, near)  # type: ignore[arg-type]
        factor = got[0] if got else None
        if got and len(set(got[1])) > 1:
            cs = got[1]
        if got:
            c = got[1][0]
    else:
        factor = next((nm for v, nm in names if abs(c - v) <= near * abs(v)), None)  # type: ignore[misc]
        if factor is not None:
            c = next(v for v, nm in names if nm == factor)  # type: ignore[misc]
    if fixed is not None:
        if not fixed.cs and abs(c - fixed.c) > near * abs(fixed.c) and _exact(pairs, c):
            return Fit(False, c, cos, None)  # small values that read another c exactly: not
            # the weight's (a bias of 1e-8 within tolerance of 0 at any c, review s56 F2)
        c, factor, cs = fixed.c, fixed.factor, fixed.cs
    if cs:  # the cosine of the learner's values with the per-step prediction
        num = sum(k * _dot(gl, gh) for k, (gl, gh, _, _) in zip(cs, pairs, strict=True))
        kk = sum(k * k * _dot(gh, gh) for k, (_, gh, _, _) in zip(cs, pairs, strict=True))
        cos = num / (math.sqrt(kk) * math.sqrt(nl)) if nl > 0 and kk > 0 else 0.0
    err = max(
        float((np.abs(gl - k * gh) / (at + rt * np.abs(k * gh))).max(initial=0.0))
        for k, (gl, gh, at, rt) in zip(cs or [c] * len(pairs), pairs, strict=True)
    )
    ok = err <= 1
    if ok and factor is None and fixed is None:
        informative = sum(int(np.count_nonzero(gh)) for _, gh, _, _ in pairs)
        # and not 1 within the tolerance: round-off, not a factor
        ok = informative >= 3 and abs(cos) >= 0.99 and abs(c - 1) > max(rt for *_, rt in pairs)
    if c == 0.0 or (
        ok
        and factor is None
        and fixed is None
        and all(bool((np.abs(gl) <= at).all()) for gl, _, at, _ in pairs)
    ):  # a gradient that is 0 within tolerance is no factor times PyTorch's
        ok = False
    return Fit(ok, c, cos, factor, cs, err=err)


def factors(
    batch: int,
    outputs: int,
    widths: tuple[int, ...],
    merge: bool = True,
    full: int = 0,
    rows: int = 0,
) -> list[tuple[float, str]]:
    """Named scale factors, simplest first, each also negated; names of equal values are
    joined (``"2 = D"`` when D = 2: every name that fits is listed), except for 1; with
    ``merge`` False, every name on its own (to follow each through steps of other sizes).
    ``full``: the run's full batch size B where batches are uneven: N/B names a mean taken
    over B rows on a short last batch (1 on the full ones); ``rows``: the data set's M, where
    N/M names a mean taken over the whole data set in a batch's gradient."""
    N, D = float(batch), float(outputs)
    base = [
        (1.0, "1"),
        (N, "N"),
        (1 / N, "1/N"),
        (2.0, "2"),
        (0.5, "1/2"),
        (D, "D"),
        (1 / D, "1/D"),
        (N * D, "N*D"),
        (1 / (N * D), "1/(N*D)"),
        (D / 2, "D/2"),
        (2 / D, "2/D"),
        (2 * N, "2N"),
        (1 / (2 * N), "1/(2N)"),
        (N / 2, "N/2"),
        (2 / N, "2/N"),
        (2 * N * D, "2N*D"),
        (1 / (2 * N * D), "1/(2N*D)"),
        (1 / (N * N), "1/N^2"),  # a 1/N in the gradient handed down, compounding per layer
        (1 / (N * N * N), "1/N^3"),
    ]
    base += [(float(h), f"H with H = {h}") for h in widths] + [
        (1 / h, f"1/H with H = {h}") for h in widths
    ]
    if full and full != batch or full and not merge:
        base.append((N / full, f"N/B with B = {full}, your full batch: a mean over B rows"))
    if rows and rows != batch:
        base.append((N / rows, f"N/M with M = {rows}, your data set's rows: a mean over M rows"))
    merged: list[tuple[float, list[str]]] = []
    for v, name in base:
        if (batch == 1 and "N" in name) or (outputs == 1 and "D" in name):
            continue  # a dimension of 1 names nothing
        same = (
            next((m for m in merged if abs(v - m[0]) <= 1e-12 * abs(m[0])), None) if merge else None
        )
        if same is None:
            merged.append((v, [name]))
        elif same[1] != ["1"] and name not in same[1]:
            same[1].append(name)
    pos = [(v, " = ".join(names)) for v, names in merged]
    neg = [(-v, " = ".join(f"-{n}" for n in names)) for v, names in merged]
    return pos + neg
