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

from dataclasses import dataclass, field

import torch

from . import candidates as C
from .evidence import StepData
from .factors import Fit, fit, step_names
from .output_dz import OUTPUT_DZ, clip_deriv
from .poly_deriv import fitted_derivative

Tensor = torch.Tensor
ZERO_SUMS = ("total", "axis1")  # bias forms summed over the units: 0 at a softmax output


SAFE_LOGS = ("clip", "clamp", "add", "out", "cmask")  # output_dz's safe-log candidates, by key


@dataclass
class LayerChoice:
    """What explains layer l: the derivative, the back-propagating weights, the forms."""

    layer: int
    deriv: C.Deriv
    wback: str  # "old" | "new" | "T" | "first" (step 1's) | "da" (dL/da above; "da_new": through
    # the updated weight) | "out" (the output a above) | "-" (output)
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
            + (2 if self.wback == "da_new" else self.wback in ("new", "T", "first", "da", "out"))
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
        self._above: list[Tensor] | None = None
        self._safe_above = False  # the dz handed down came through a safe log's clip
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

    def run(self, force: C.Deriv | None = None) -> list[LayerChoice]:
        """One choice per layer, output layer first (``force``: the output layer's
        derivative). Where a layer below is left unexplained and another output derivative
        explains the output layer as well with another dz (a safe log's clip, which only
        saturated samples show), the layers below are searched under it too, and the
        reading that explains more is kept (review s24b F1: a clip the output's tolerance
        hides, seen in layer 1's smaller gradient, was an unexplained mismatch)."""
        L = len(self.sizes) - 1
        up: list[Tensor] | None = None
        up_da: list[Tensor] | None = None  # dL/da of the layer above, before its derivative
        out: list[LayerChoice] = []
        judged: list = []  # the dz each layer's choice was judged with
        ties: list[tuple] = []  # the output's full explanations: (derivative, dz, err)
        for l in range(L, 0, -1):
            best, best_dz = None, None
            self._above = up  # the dz of the layer above, as chosen (a bias copied from it)
            self._safe_above = l < L and out[0].deriv.key.split()[0] in SAFE_LOGS
            for wb in self._wbacks(l):
                for d in [force] if force and l == L else self.derivs[l - 1]:
                    dz = [
                        self._dz(s, l, d, wb, up[i] if up else None, up_da[i] if up_da else None)
                        for i, s in enumerate(self.steps)
                    ]
                    if dz[0] is None:
                        continue
                    choice = self._judge(l, d, wb, dz)
                    if l == L and not choice.unexplained:
                        ties.append((d, dz, choice.err()))
                    if best is None or _better(choice, best):
                        best, best_dz = choice, dz
            if f"W{l}" in best.unexplained and not any(c.unexplained for c in out):
                best, best_dz = self._polynomial(l, up, best, best_dz)
            out.append(best)
            judged.append(best_dz)
            wb = best.wback
            if best.unexplained and len(best.unexplained) == len(self._params(l)):
                wb = "old" if l < L else "-"
                best_dz = [
                    self._dz(s, l, self.derivs[l - 1][0], wb, up[i] if up else None)
                    for i, s in enumerate(self.steps)
                ]
            up_da = [
                s.dl_da
                if wb == "-"
                else (up_da[i] if wb in ("da", "da_new") else up[i]) @ self._w_back(s, l, wb).T
                for i, s in enumerate(self.steps)
            ]  # fmt: skip
            up = best_dz
        found = self._zero_totals(out, judged)
        if force is None and found[0].deriv.key == "true":
            top, base, below = judged[0], found[0].err(), _unexplained(found[1:])
            for d, dz, e in ties:  # tried where the layers below are not explained, or where
                # it reproduces the output's gradients far more closely than the true one
                if all(map(torch.equal, dz, top)) or not (below or e < CLOSER * base):
                    continue  # (the same dz: the same search below)
                again = self.run(force=d)
                if _unexplained(again) < _unexplained(found) or (
                    _unexplained(again) == _unexplained(found)
                    and _err(again) < CLOSER * _err(found)
                ):  # more explained, or every layer reproduced far more closely
                    found = again
        return found

    def _zero_totals(self, out: list[LayerChoice], judged: list) -> list[LayerChoice]:
        """Where one layer's bias gradient sums over the units, as one scalar for the layer
        (``total``) or one sum per sample (``axis1``: the batch as wide as the layer), another's
        0 is the same sum (0 where each sample's dz sums to 0 over the units: a softmax output
        under cross-entropy; review s20a, t43). A lone zero is not read so (a bias gradient
        never computed?)."""
        keys = set()
        for c in out:
            b = f"b{c.layer}"
            if b in c.forms and not c.fits[b].zero:
                keys.add(c.forms[b].key)
        key = next((k for k in ZERO_SUMS if k in keys), None)
        if key is None:
            return out
        for c, dz in zip(out, judged, strict=True):
            b = f"b{c.layer}"
            if b in c.unexplained and dz is not None:
                again = self._judge(c.layer, c.deriv, c.wback, dz, zero_total=key)
                if b in again.forms:
                    c.forms[b], c.fits[b] = again.forms[b], again.fits[b]
                    c.unexplained.remove(b)
        return out

    def _polynomial(self, l: int, up: list | None, best: LayerChoice, best_dz: list) -> tuple:
        """The best choice with a derivative fitted as a polynomial (poly_deriv.py), where the
        layers above are explained and this one is not; none in float16, whose scatter a
        polynomial's free coefficients fit (review s51 F5: 962 a^3 named a correct program's
        derivative)."""
        if self.steps[0].rtol > 1e-3:
            return best, best_dz
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
        new = all(s.P_new is not None for s in self.steps)
        if new:
            opts.append("new")
        if self.sizes[l] == self.sizes[l + 1]:
            opts.append("T")
        if all(s.P_first is not None for s in self.steps) and self.steps[-1].step > 1:
            opts.append("first")
        if self.sizes[l + 1] == 1:  # dz of one column broadcast, @ W.T left out (s59d F8)
            opts.append("none")
        return [*opts, "da", "out", *(["da_new"] if new else [])]  # the layer above's dL/da
        # handed down, its derivative left out (through its weight after the update too:
        # python-course.eu's hidden_errors = who.T @ output_errors after who's update, review
        # s20a t29); its output a handed down in place of its delta (review s19a: Brownlee's
        # error += neuron['weights'][j] * neuron['output'] for neuron['delta'])

    def _dz(
        self,
        s: StepData,
        l: int,
        d: C.Deriv,
        wb: str,
        dz_up: Tensor | None,
        da_up: Tensor | None = None,
    ) -> Tensor | None:
        name, module = self.acts[l - 1]
        z, a = s.z[l], s.a[l]
        if wb in ("da", "da_new"):  # what reaches this layer is the layer above's dL/da
            if da_up is None or d.key != "true":
                return None
            dz_up = da_up
        if wb == "out":  # the layer above's output a, not its dz
            if d.key != "true":
                return None
            dz_up = s.a[l + 1]
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
            "none": torch.ones_like(s.P[f"W{l + 1}"]),
            "da": s.P[f"W{l + 1}"],
            "da_new": (s.P_new or s.P)[f"W{l + 1}"],
            "out": s.P[f"W{l + 1}"],
        }[wb]

    def _judge(
        self, l: int, d: C.Deriv, wb: str, dz: list[Tensor], zero_total: str | None = None
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
                + (
                    [C.ABOVE]
                    if self._above
                    and l < len(self.sizes) - 1
                    and self.sizes[l + 1] == self.sizes[l]
                    else []
                )
            )
            found = None
            w_fit = choice.fits.get(f"W{l}") if name[0] == "b" else None
            ref_zero = all(
                bool((s.ref[name].abs() <= s.atol[name]).all()) for s in self.steps
            )  # a hypothesis predicting 0 explains a 0 only where PyTorch's is 0
            for form, fixed in [(f, w_fit) for f in forms if w_fit] + [(f, None) for f in forms]:
                pairs = []
                for i, (s, dzs) in enumerate(zip(self.steps, dz, strict=True)):
                    prev = self.acts[l - 2][1] if l >= 2 else None
                    gh = (
                        C.weight_grad(form.key, l, dzs, s.a, s.z, prev, s.a_first)
                        if name[0] == "W"
                        else C.bias_grad(form.key, self._above[i] if form is C.ABOVE else dzs)
                    )
                    if gh.shape != s.g[name].shape:
                        break
                    pairs.append((s.g[name], gh, s.atol[name], s.rtol))
                else:  # a 0 handed down (a safe log's, every sample saturated: review s55
                    safe = (  # F1), on the output layer, or below it by its true derivative
                        d.key.split()[0] in SAFE_LOGS
                        or (self._safe_above and d.key == "true" and wb == "old")
                        or not any(t.any() for t in dz)
                    )
                    f = fit(pairs, self.names, fixed, ref_zero or form.key == zero_total)
                    if (
                        not f.ok
                        and safe
                        and fixed is None  # (a 0 carries no factor of the weight's)
                        and form.code is None
                        and all(
                            bool((gl.abs() <= at).all() and (gh.abs() <= at).all())
                            for gl, gh, at, _ in pairs
                        )
                    ):  # explains the learner's own 0, exactly or within tolerance (a unit at
                        # 1 - 1e-14 beside the learner's 1.0: its h (1 - h) differs in the last
                        # bits), where no exact fit reads a sign or a factor in the small values
                        # first; its plain form alone ("the first sample's dz" is 0 too, s56 F7)
                        f = fit(pairs, self.names, fixed, True)
                    cost = form.cost + (0.0 if fixed else f.cost())
                    if f.ok and (found is None or cost < found[2]):
                        found = (form, f, cost)
            if found is None:
                choice.unexplained.append(name)
            else:
                choice.forms[name], choice.fits[name], _ = found
        return choice


def _unexplained(choices: list[LayerChoice]) -> int:
    return sum(len(c.unexplained) for c in choices)


def _err(choices: list[LayerChoice]) -> float:
    return max((c.err() for c in choices), default=0.0)


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
