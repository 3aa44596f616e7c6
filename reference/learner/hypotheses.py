"""Explain a learner's gradients: recompute, with torch, what they would be under each
candidate bug, and keep the simplest hypothesis that reproduces the numbers within tolerance.

Backprop runs from the output down. For layer l the hypothesis fixes how dz_l is made (the
derivative candidate, and which weights carry the error back through layer l+1: the weights
before the step, after it (``updated_weights_used``) or transposed) and how dW_l and db_l are
built from dz_l. Layer l's choice is found first and then fixed for the layers below. Each
parameter's fit is a least-squares scale over the steps examined,
c = sum <g_L, g_h> / sum <g_h, g_h>, accepted when every element satisfies
|g_L - c g_h| <= atol * scale + noise + rtol |c g_h| and c is 1, a named factor (N, 1/N, 2, ...),
or, with at least 3 informative elements, any constant (an unnamed scale).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import torch

from . import candidates as C
from .evidence import StepData
from .output_dz import OUTPUT_DZ, clip_deriv
from .poly_deriv import fitted_derivative
from .result import factor_text

Tensor = torch.Tensor


def step_names(steps: list[StepData], sizes: tuple[int, ...]) -> list:
    """The named factors ``fit`` takes for these steps: one list, or one per step where the
    batches are uneven or shorter than the run's full one (N, and N/B, follow each step's N)."""
    batches = [s.a[0].shape[0] for s in steps]
    B = max([*batches, *(s.full for s in steps)])
    M = max(s.rows for s in steps)
    if len(set(batches)) > 1 or B != batches[0]:
        return [C.factors(n, sizes[-1], sizes[1:-1], merge=False, full=B, rows=M) for n in batches]
    return C.factors(batches[0], sizes[-1], sizes[1:-1], rows=M)


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
    pairs: list[tuple[Tensor, Tensor, float, float]], names: list[Names], near: float
) -> tuple[str, tuple[float, ...]] | None:
    """The factor names that hold at every step with that step's own value (N of its batch):
    each step's least-squares c within ``near`` of the name's value there."""
    table = [dict((nm, v) for v, nm in ns) for ns in names]
    cs = []
    for gl, gh, _, _ in pairs:
        den = float((gh * gh).sum())
        cs.append(float((gl * gh).sum()) / den if den > 0 else None)
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
    num = sum(float((gl * gh).sum()) for gl, gh, _, _ in pairs)
    den = sum(float((gh * gh).sum()) for _, gh, _, _ in pairs)
    nl = sum(float((gl * gl).sum()) for gl, _, _, _ in pairs)
    if not all(math.isfinite(v) for v in (num, den, nl)):
        return Fit(False, math.nan, math.nan, None)
    exact = den > 0 and all(  # equal to rtol of its own scale, however small: not zero
        not gh.numel() or float((gl - gh).abs().max()) <= rt * float(gh.abs().max())
        for gl, gh, _, rt in pairs
    )
    if den == 0.0 or (all(bool((gh.abs() <= at).all()) for _, gh, at, _ in pairs) and not exact):
        ok = ref_zero and all(bool((gl.abs() <= at).all()) for gl, _, at, _ in pairs)
        return Fit(ok, 1.0, 1.0 if nl == 0 else 0.0, "1", zero=True)
    c = num / den
    cos = num / math.sqrt(den * nl) if nl > 0 else 0.0
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
        c, factor, cs = fixed.c, fixed.factor, fixed.cs
    if cs:  # the cosine of the learner's values with the per-step prediction
        num = sum(float((gl * k * gh).sum()) for k, (gl, gh, _, _) in zip(cs, pairs, strict=True))
        kk = sum(k * k * float((gh * gh).sum()) for k, (_, gh, _, _) in zip(cs, pairs, strict=True))
        cos = num / math.sqrt(kk * nl) if nl > 0 and kk > 0 else 0.0
    err = max(
        float(((gl - k * gh).abs() / (at + rt * (k * gh).abs())).max())
        for k, (gl, gh, at, rt) in zip(cs or [c] * len(pairs), pairs, strict=True)
    )
    ok = err <= 1
    if ok and factor is None and fixed is None:
        informative = sum(int((gh.abs() > 0).sum()) for _, gh, _, _ in pairs)
        # and not 1 within the tolerance: round-off, not a factor
        ok = informative >= 3 and abs(cos) >= 0.99 and abs(c - 1) > max(rt for *_, rt in pairs)
    if c == 0.0 or (
        ok
        and factor is None
        and fixed is None
        and all(bool((gl.abs() <= at).all()) for gl, _, at, _ in pairs)
    ):  # a gradient that is 0 within tolerance is no factor times PyTorch's
        ok = False
    return Fit(ok, c, cos, factor, cs, err=err)


@dataclass
class LayerChoice:
    """What explains layer l: the derivative, the back-propagating weights, the forms."""

    layer: int
    deriv: C.Deriv
    wback: str  # "old" | "new" | "T" | "first" (step 1's) | "-" (output layer)
    forms: dict[str, C.Form] = field(default_factory=dict)
    fits: dict[str, Fit] = field(default_factory=dict)
    unexplained: list[str] = field(default_factory=list)

    def err(self) -> float:
        """The most tolerance any of its fits used."""
        return max((f.err for f in self.fits.values()), default=0.0)

    def cost(self) -> float:
        w = self.fits.get(f"W{self.layer}")
        return (
            self.deriv.cost
            + (self.wback in ("new", "T", "first"))
            + sum(f.cost for f in self.forms.values())
            + sum(
                0.0 if (w and f.c == w.c and f.cs == w.cs and k[0] == "b") else f.cost()
                for k, f in self.fits.items()
            )
        )


class Search:
    """The greedy layer-by-layer search (see the module docstring)."""

    def __init__(
        self,
        steps: list[StepData],
        acts: list[tuple[str, torch.nn.Module]],
        sizes: tuple[int, ...],
        layers_with_bias: set[int],
    ):
        self.steps, self.acts, self.sizes = steps, acts, sizes
        self.bias = layers_with_bias
        self.names = step_names(steps, sizes)
        self.derivs = [C.derivatives(n, m) for n, m in acts]
        self.derivs[-1] += [
            OUTPUT_DZ[k] if k in OUTPUT_DZ else clip_deriv(k) for k in steps[0].alt_dz
        ]
        L = len(sizes) - 1
        for l in range(1, L):  # a hidden layer's derivative taken at another layer's cache
            sym = C.SYMBOL.get(acts[l - 1][0], acts[l - 1][0])
            self.derivs[l - 1] += [
                C.Deriv(
                    f"z@{k}",
                    "wrong_cached_activation",
                    f"{sym}'(z{k}): the derivative (or mask) taken at layer {k}'s cached z, "
                    f"not layer {l}'s",
                    1.0,
                )
                for k in range(1, L + 1)
                if k != l and sizes[k] in (sizes[l], 1)  # one unit: broadcast over the layer
            ]

    def run(self) -> list[LayerChoice]:
        """One choice per layer, output layer first."""
        L = len(self.sizes) - 1
        up: list[Tensor] | None = None
        out: list[LayerChoice] = []
        judged: list = []  # the dz each layer's choice was judged with
        for l in range(L, 0, -1):
            best, best_dz = None, None
            for wb in self._wbacks(l):
                for d in self.derivs[l - 1]:
                    dz = [
                        self._dz(s, l, d, wb, up[i] if up else None)
                        for i, s in enumerate(self.steps)
                    ]
                    if dz[0] is None:
                        continue
                    choice = self._judge(l, d, wb, dz)
                    if best is None or _better(choice, best):
                        best, best_dz = choice, dz
            if f"W{l}" in best.unexplained and not any(c.unexplained for c in out):
                best, best_dz = self._polynomial(l, up, best, best_dz)
            out.append(best)
            judged.append(best_dz)
            if best.unexplained and len(best.unexplained) == len(self._params(l)):
                best_dz = [
                    self._dz(
                        s, l, self.derivs[l - 1][0], "old" if l < L else "-", up[i] if up else None
                    )
                    for i, s in enumerate(self.steps)
                ]
            up = best_dz
        return self._zero_totals(out, judged)

    def _zero_totals(self, out: list[LayerChoice], judged: list) -> list[LayerChoice]:
        """Where one layer's bias gradient is one scalar for the layer (``total``), another's 0 is
        that scalar (0 where each sample's dz sums to 0 over the units: a softmax output under
        cross-entropy). A lone zero is not read so (a bias gradient never computed?)."""
        if not any(getattr(c.forms.get(b := f"b{c.layer}"), "key", "") == "total"
                   and not c.fits[b].zero for c in out):  # fmt: skip
            return out
        for c, dz in zip(out, judged, strict=True):
            b = f"b{c.layer}"
            if b in c.unexplained and dz is not None:
                again = self._judge(c.layer, c.deriv, c.wback, dz, zero_total=True)
                if b in again.forms:
                    c.forms[b], c.fits[b] = again.forms[b], again.fits[b]
                    c.unexplained.remove(b)
        return out

    def _polynomial(self, l: int, up: list | None, best: LayerChoice, best_dz: list) -> tuple:
        """The best choice with a derivative fitted as a polynomial (poly_deriv.py), where the
        layers above are explained and this one is not."""
        wb = "old" if up else "-"
        da = [
            s.dl_da if not up else up[i] @ self._w_back(s, l, wb).T
            for i, s in enumerate(self.steps)
        ]
        name, module = self.acts[l - 1]
        for d in fitted_derivative(self.steps, l, da, name, l in self.bias, module):
            dz = [self._dz(s, l, d, wb, up[i] if up else None) for i, s in enumerate(self.steps)]
            choice = self._judge(l, d, wb, dz)
            if _better(choice, best):
                return choice, dz
        return best, best_dz

    def _params(self, l: int) -> list[str]:
        return [f"W{l}", f"b{l}"] if l in self.bias else [f"W{l}"]

    def _wbacks(self, l: int) -> list[str]:
        L = len(self.sizes) - 1
        if l == L:
            return ["-"]
        opts = ["old"]
        if all(s.P_new is not None for s in self.steps):
            opts.append("new")
        if self.sizes[l] == self.sizes[l + 1]:
            opts.append("T")
        if all(s.P_first is not None for s in self.steps) and self.steps[-1].step > 1:
            opts.append("first")
        return opts

    def _dz(self, s: StepData, l: int, d: C.Deriv, wb: str, dz_up: Tensor | None) -> Tensor | None:
        name, module = self.acts[l - 1]
        z, a = s.z[l], s.a[l]
        if d.key.startswith("z@"):  # this layer's derivative at another layer's cache
            mult = C.prime(module, s.z[int(d.key[2:])])  # (N, 1) broadcasts over the units
            up = s.dl_da if wb == "-" else dz_up @ self._w_back(s, l, wb).T
            return up * mult
        if wb == "-":
            if d.key == "true":
                return s.dl_dz
            if d.key in s.alt_dz:
                return s.alt_dz[d.key]
            return C.apply(d, module, z, a, s.dl_da)
        return C.apply(d, module, z, a, dz_up @ self._w_back(s, l, wb).T)

    def _w_back(self, s: StepData, l: int, wb: str) -> Tensor:
        """The weight the error reaches layer ``l`` through, as reading ``wb`` takes it."""
        return {
            "old": s.P[f"W{l + 1}"],
            "new": (s.P_new or s.P)[f"W{l + 1}"],
            "T": s.P[f"W{l + 1}"].T,
            "first": (s.P_first or s.P)[f"W{l + 1}"],
        }[wb]

    def _judge(
        self, l: int, d: C.Deriv, wb: str, dz: list[Tensor], zero_total: bool = False
    ) -> LayerChoice:
        choice = LayerChoice(l, d, wb)
        first = self.steps[-1].step > 1 and all(
            s.a_first is not None and s.a_first[0].shape == s.a[0].shape for s in self.steps
        )  # step 1's inputs, where the batches are alike
        for name in self._params(l):
            forms = (
                C.weight_forms(l, self.sizes, first)
                if name[0] == "W"
                else C.bias_forms(dz[0].shape[0], self.sizes[l])
            )
            found = None
            w_fit = choice.fits.get(f"W{l}") if name[0] == "b" else None
            for form, fixed in [(f, w_fit) for f in forms if w_fit] + [(f, None) for f in forms]:
                pairs = []
                for s, dzs in zip(self.steps, dz, strict=True):
                    prev = self.acts[l - 2][1] if l >= 2 else None
                    gh = (
                        C.weight_grad(form.key, l, dzs, s.a, s.z, prev, s.a_first)
                        if name[0] == "W"
                        else C.bias_grad(form.key, dzs)
                    )
                    if gh.shape != s.g[name].shape:
                        break
                    pairs.append((s.g[name], gh, s.atol[name], s.rtol))
                else:
                    ref_zero = all(
                        bool((s.ref[name].abs() <= s.atol[name]).all()) for s in self.steps
                    )  # a hypothesis predicting 0 explains a 0 only where PyTorch's is 0
                    f = fit(
                        pairs, self.names, fixed, ref_zero or zero_total and form.key == "total"
                    )
                    cost = form.cost + (0.0 if fixed else f.cost())
                    if f.ok and (found is None or cost < found[2]):
                        found = (form, f, cost)
            if found is None:
                choice.unexplained.append(name)
            else:
                choice.forms[name], choice.fits[name], _ = found
        return choice


def _better(a: LayerChoice, b: LayerChoice) -> bool:
    """More parameters explained first; then one that fits ``CLOSER`` times as closely as
    another using at least ``CLOSER_FLOOR`` of its tolerance (a target of 1e-8 left out of
    the output's gradient parts from PyTorch's by 2e-7 of it: the true derivative fits within
    the hypotheses' 1e-6, the slip to the last bit); then the cheaper hypothesis; then of two
    as cheap the one that fits at least twice as closely (relu' for leaky_relu' leaves
    nothing, leaky_relu' applied twice leaves slope^2 of the negative side: both within a
    float32 tolerance)."""
    if len(a.unexplained) != len(b.unexplained):
        return len(a.unexplained) < len(b.unexplained)
    for x, z in ((a, b), (b, a)):  # one reproduces the numbers far more closely: evidence
        if z.err() >= CLOSER_FLOOR and x.err() < CLOSER * z.err():
            return x is a
    if abs(a.cost() - b.cost()) > 1e-9:
        return a.cost() < b.cost()
    return a.err() < 0.5 * b.err()


CLOSER, CLOSER_FLOOR = 1e-3, 1e-2
