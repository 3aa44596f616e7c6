"""Judging one tensor of a layer against PyTorch's: agreement, the variant or relation named."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .layer_cases import Case, LayerConventions, running_expected
from .layer_variants import VARIANTS
from .pool_ties import tie_routing
from .result import Finding, factor_text

Array = np.ndarray
TIES = (
    "differs from PyTorch's only where a window's maximum is tied: yours routes its gradient "
    "{how}, PyTorch's all to the first; max has no single derivative at a tie, and any share "
    "among the tied maxima that sums to the window's gradient is as valid (as relu'(0) may be "
    "0 or 1)"
)
TIES_FIX = (
    "nothing to fix (a convention, not a bug); to match PyTorch element for element, "
    "send it to the first maximum (np.argmax)"
)
TOL = 1e-6  # float64 layers agree to ~1e-13 of their scale; a bug parts by far more


class _Found:
    """Findings merged by (code, tensors, evidence's what): the cases each showed in."""

    def __init__(self) -> None:
        self.items: dict[tuple, list] = {}
        self.whats: dict[tuple, str] = {}

    def add(
        self, code: str, tensor: str, what: str, fix: str, case: str, detail: str = "",
        kind: str = "bug",
    ) -> None:  # fmt: skip
        key = (code, tensor)  # the first case's words; the others counted
        if key not in self.items:
            self.items[key] = [fix, [], detail, kind]
            self.whats[key] = what
        self.items[key][1].append(case)

    def findings(self) -> tuple[Finding, ...]:
        out = []
        for (code, tensor), (fix, cases, detail, kind) in self.items.items():
            what = self.whats[(code, tensor)]
            where = (
                f" (case {cases[0]}"
                + (f", and {len(cases) - 1} more" if len(cases) > 1 else "")
                + ")"
            )
            what = f"{tensor} {what}{where}{detail}"
            out.append(Finding(code, (tensor,), None, None, what, fix, kind))
        return tuple(out)


class _Variants:
    """The layer's named variants on one case, computed on first need."""

    def __init__(self, layer: str, case: Case, dout: Array):
        self.layer, self.case, self.dout = layer, case, dout
        self._done: list | None = None

    def all(self) -> list:
        if self._done is None:
            self._done = []
            for v in VARIANTS.get(self.layer, []):
                try:
                    t = v.tensors(self.case, self.dout)
                except Exception:  # noqa: BLE001 - a variant that does not apply to this case
                    t = None
                if t:
                    self._done.append((v, t))
        return self._done


NEAR_ONE = (  # no reduction is this near 1
    "a factor this near 1 is no 1/N: look for an eps left out or placed otherwise (sqrt(var + "
    "eps) in the forward and the backward alike) or a constant slightly off"
)


def _close(a: Array, b: Array, scale: float) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= TOL * scale + 1e-300))


def _judge(
    found: _Found,
    worst: dict,
    case: Case,
    tensor: str,
    mine: Array,
    ref: Array,
    scale: float,
    variants: _Variants,
    layer: str,
) -> bool:
    """True when ``mine`` agrees with PyTorch's ``ref``; otherwise the finding is added."""
    scale = max(scale, 1e-12)
    if _close(mine, ref, scale):
        worst[tensor] = max(worst.get(tensor, 0.0), float(np.abs(mine - ref).max()) / scale)
        return True
    if layer == "max_pool" and tensor == "dx" and mine.shape == ref.shape:
        how = tie_routing(case, variants.dout, mine, TOL * scale)
        if how:  # a subgradient as valid as PyTorch's: a convention, said, not a bug
            found.add("pool_ties", tensor, TIES.format(how=how), TIES_FIX, case.label, kind="note")
            return True
    for v, t in variants.all():
        if tensor in t and _close(mine, t[tensor], scale):
            what, fix = f"differs from PyTorch's: your layer {v.what}", v.fix
            if tensor != "out" and "out" in t and v.backward_fix:  # the forward agreed: the
                what = (  # backward alone computes the variant's gradient
                    f"differs from PyTorch's: it is the {tensor} of a layer that {v.what}, "
                    "while your forward does not (its output agrees): your backward is the "
                    "gradient of another forward than yours"
                )
                fix = v.backward_fix
            found.add(v.code, tensor, what, fix, case.label)
            return False
    code, what, fix = _relation(tensor, mine, ref, scale, case, layer)
    found.add(code, tensor, what, fix, case.label)
    return False


def _relation(tensor: str, a: Array, ref: Array, scale: float, case: Case, layer: str):
    """The dense classes' relations between a tensor and PyTorch's: (code, what, fix)."""
    if a.shape != ref.shape:
        if a.ndim == 2 and a.T.shape == ref.shape and _close(a.T, ref, scale):
            return "transposed", f"is PyTorch's transposed (shape {a.shape})", f"return {tensor}.T"
        if a.size == ref.size and _close(a.reshape(ref.shape), ref, scale):
            return (
                "layer_shape",
                f"has shape {a.shape} where {ref.shape} belongs (the right numbers)",
                f"reshape it: {tensor}.reshape({'x' if tensor == 'dx' else tensor[1:]}.shape)",
            )
        if a.shape[1:] == ref.shape and _close(a.sum(axis=0), ref, scale):
            code = "conv_batch_sum" if layer == "conv" else "bias_reduction"
            return (
                code,
                f"is not summed over the batch (shape {a.shape})",
                f"sum {tensor} over the batch axis",
            )
        return _shape_code(tensor, a, ref, case, layer)
    if _close(-a, ref, scale):
        return (
            "sign_flip",
            "has the opposite sign of PyTorch's",
            f"negate {tensor}: check the sign of each term",
        )
    den = float((ref * ref).sum())
    k = float((a * ref).sum()) / den if den > 0 else 0.0
    # a factor says something only where PyTorch's tensor stands above the tolerance: a dx of
    # ~1e-6 under a floor of ~3 (batchnorm's at a batch of 2) makes any a / k "close" for a
    # large enough k (review s23c F7: "times -237571")
    telling = float(np.abs(ref).max()) > 1e3 * TOL * scale
    if k and telling and abs(k - 1) > 1e-6 and _close(a / k, ref, scale):
        n = case.x.shape[0]
        hint = (
            f" (= 1/N, N = {n}: averaged where PyTorch sums)"
            if abs(k * n - 1) < 1e-6
            else (f" (= N = {n})" if abs(k - n) < 1e-6 else "")
        )
        fix = f"remove the factor {factor_text(k, 6, 'g')} from {tensor}"
        if abs(k - 1) < 1e-3:  # no reduction is this near 1
            fix = f"{NEAR_ONE} in {tensor}"
        return ("scale_factor", f"is PyTorch's times {factor_text(k, 6, 'g')}{hint}", fix)
    if a.ndim == 2 and a.shape[0] == a.shape[1] and _close(a.T, ref, scale):
        return "transposed", "is PyTorch's transposed", f"return {tensor}.T"
    diff = np.abs(a - ref)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    return (
        "layer_mismatch",
        f"differs from PyTorch's by up to {diff.max():.3g} at {idx} (scale {scale:.3g}): "
        f"yours {a[idx]:.6g}, PyTorch {ref[idx]:.6g}",
        "compare your formula for this tensor with the layer's definition (nnparity list)",
    )


def _shape_owner(tensor: str) -> str:
    return "x" if tensor == "dx" else "PyTorch's output" if tensor == "out" else tensor[1:]


def _shape_code(tensor: str, a: Array, ref: Array, case: Case, layer: str):
    base = (
        "layer_shape",
        f"has shape {a.shape} where PyTorch's is {ref.shape}",
        f"{tensor} must have the shape of {_shape_owner(tensor)}",
    )
    if tensor in ("db", "dbeta") and a.ndim == 1 == ref.ndim and len(a) == len(case.x) != len(ref):
        return (  # one value per row: summed over the features, not over the batch
            "bias_reduction",
            f"has shape {a.shape}, one value per sample, where PyTorch's is {ref.shape}: it is "
            "summed over the features, not over the batch",
            f"sum over the batch: {tensor} = dout.sum(axis=0)",
        )
    if tensor != "out" or layer not in ("conv", "max_pool") or a.ndim != 4:
        return base
    lp = case.layer_param or {}
    h = case.x.shape[2]
    k = lp.get("pool_height") or case.params["w"].shape[2]
    s, pad = lp["stride"], lp.get("pad", 0)
    ho = a.shape[2]
    code = "conv_stride" if layer == "conv" else "pool_stride"
    if ho == (h - k) // s + 1 and pad:
        code, why = "conv_padding", "the padding is left out"
    elif ho == (h + 2 * pad - k) + 1:
        why = "the stride is left out of the output size"
    elif abs(ho - ref.shape[2]) == 1:
        code, why = ("conv_padding" if layer == "conv" else code), "the output size is off by one"
    else:
        return base
    return (
        code,
        f"has shape {a.shape} where PyTorch's is {ref.shape}: {why}",
        "output side = 1 + (H + 2 * pad - HH) // stride"
        if layer == "conv"
        else "output side = 1 + (H - pool_height) // stride",
    )


def _judge_running(found: _Found, case: Case, lp: dict | None) -> None:
    """The running statistics the learner wrote back into ``bn_param``."""
    want = running_expected(case)
    lp = lp or {}
    conv: LayerConventions = case.info["conv"]
    for key, ref in want.items():
        mine = lp.get(key)
        mine = None if mine is None else np.asarray(mine, dtype=float)
        scale = float(np.abs(ref).max())
        if mine is not None and _close(mine, ref, scale):
            continue
        if mine is None or _close(mine, case.layer_param[key], scale):
            found.add(
                "batchnorm_running",
                key,
                "is not updated in bn_param",
                f"write the new value back: bn_param['{key}'] = ...",
                case.label,
            )
            continue
        named = False
        for mom in ("pytorch", "cs231n"):
            for rv in ("unbiased", "biased"):
                other = replace(conv, momentum=mom, running_var=rv)
                if other == conv:
                    continue
                alt = running_expected(replace(case, info={**case.info, "conv": other}))[key]
                if _close(mine, alt, scale):
                    parts = []
                    if mom != conv.momentum:
                        parts.append(f"momentum={mom!r}")
                    if rv != conv.running_var and key == "running_var":
                        parts.append(f"running_var={rv!r}")
                    if not parts:
                        continue
                    m = float(case.layer_param["momentum"])
                    keep = m if mom == "cs231n" else 1 - m  # of the old value, as yours
                    want_keep = m if conv.momentum == "cs231n" else 1 - m
                    hard = (
                        f"; if your code hard-codes the rate instead of reading "
                        f"bn_param['momentum'] (= {m:g} here), it keeps {keep:g} of the old "
                        f"value where the declared rule keeps {want_keep:g}: read the passed "
                        "momentum (one run cannot tell the two apart: the other rule at m is "
                        "this one at 1 - m)"
                        if mom != conv.momentum
                        else ""
                    )
                    found.add(
                        "batchnorm_running",
                        key,
                        f"follows the {', '.join(parts)} convention at the passed momentum "
                        f"{m:g}, not the declared momentum={conv.momentum!r}, "
                        f"running_var={conv.running_var!r}",
                        "if your code reads the passed momentum by that rule, it is a "
                        f"convention, not a bug: declare it (layer_check(..., "
                        f"{', '.join(parts)}), or convention='cs231n' for both), or update as "
                        f"declared{hard}",
                        case.label,
                    )
                    named = True
                    break
            if named:
                break
        if not named:
            found.add(
                "batchnorm_running",
                key,
                f"differs from the declared update (momentum={conv.momentum!r}, "
                f"running_var={conv.running_var!r}) by up to {np.abs(mine - ref).max():.3g}",
                "running = (1 - m) running + m batch (PyTorch, m = bn_param['momentum'] = 0.1) or "
                "m running + (1 - m) batch (CS231n, m = 0.9), as declared",
                case.label,
            )
