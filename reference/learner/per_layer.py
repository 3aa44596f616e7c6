"""Per-layer checks (adapter style (f)): a learner's forward and backward of ONE layer, held to
PyTorch autograd at several shapes and seeds, and the bug named.

    from nnparity.reference.learner import layer_check, check_layers
    print(check_layers([layer_check(batchnorm_forward, batchnorm_backward, layer="batchnorm",
                                    convention="cs231n")]))

Signatures are CS231n's: ``forward(x, *params, layer_param) -> (out, cache)`` (no
``layer_param`` for ``affine``), ``backward(dout, cache) -> (dx, *dparams)``; other signatures
through a small lambda. Layers (``LAYERS``): ``affine`` (x (N, d1, ...), w (D, M), b),
``batchnorm`` and ``spatial_batchnorm`` (gamma, beta, bn_param), ``layernorm`` (gamma, beta,
ln_param), ``dropout`` (dropout_param), ``conv`` (w (F, C, HH, WW), b, conv_param),
``max_pool`` (pool_param).

For every case (``layer_cases``) ``out``, ``dx`` and each parameter's gradient (and, for
batchnorm in training, the running statistics the learner writes back into ``bn_param``) are
compared with PyTorch's: they agree when max |learner - PyTorch| <= ``TOL`` times the tensor's
scale (its largest entry, or for a normalisation's dx the largest term it sums, so that the
near-zero dx of a batch of 2 is judged fairly). A tensor that parts is named by the first
``layer_variants`` variant it equals, else by the dense classes' relations (``sign_flip``,
``scale_factor``, ``transposed``, a shape that is x's reshaped or summed), else
``layer_mismatch`` with where it parts. When ``out`` parts, that case's gradients are not
judged (they follow the forward).
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .layer_cases import (
    CS231N,
    PYTORCH,
    Case,
    LayerConventions,
    affine_cases,
    affine_ref,
    batchnorm_cases,
    batchnorm_ref,
    conv_cases,
    conv_ref,
    dropout_cases,
    layernorm_cases,
    layernorm_ref,
    pool_cases,
    pool_ref,
    running_expected,
)
from .layer_dropout import dropout_findings
from .layer_variants import VARIANTS, bn_dx_scale
from .paths import LearnerError
from .result import Finding, Training
from .runner import learner_tail

Array = np.ndarray
TOL = 1e-6  # float64 layers agree to ~1e-13 of their scale; a bug parts by far more


@dataclass(frozen=True)
class Kind:
    cases: Callable[[LayerConventions], list[Case]]
    reference: Callable[[Case], tuple[Array, Callable]] | None
    signature: str


LAYERS: dict[str, Kind] = {
    "affine": Kind(
        affine_cases, affine_ref, "affine_forward(x, w, b), affine_backward -> dx, dw, db"
    ),
    "batchnorm": Kind(
        batchnorm_cases,
        batchnorm_ref,
        "batchnorm_forward(x, gamma, beta, bn_param) -> dx, dgamma, dbeta",
    ),
    "spatial_batchnorm": Kind(
        lambda c: batchnorm_cases(c, spatial=True),
        batchnorm_ref,
        "spatial_batchnorm_forward(x, gamma, beta, bn_param) -> dx, dgamma, dbeta",
    ),
    "layernorm": Kind(
        layernorm_cases,
        layernorm_ref,
        "layernorm_forward(x, gamma, beta, ln_param) -> dx, dgamma, dbeta",
    ),
    "dropout": Kind(
        dropout_cases, None, "dropout_forward(x, dropout_param), dropout_backward -> dx"
    ),
    "conv": Kind(conv_cases, conv_ref, "conv_forward_naive(x, w, b, conv_param) -> dx, dw, db"),
    "max_pool": Kind(pool_cases, pool_ref, "max_pool_forward_naive(x, pool_param) -> dx"),
}
ALIASES = {
    "linear": "affine",
    "dense": "affine",
    "conv2d": "conv",
    "maxpool": "max_pool",
    "max_pool2d": "max_pool",
    "batchnorm1d": "batchnorm",
    "batchnorm2d": "spatial_batchnorm",
}


@dataclass(frozen=True)
class LayerCheck:
    """One layer to check: the learner's ``forward`` and ``backward`` (None: the forward
    only), which ``layer`` it is, a ``name`` for the report, the declared ``conventions``."""

    forward: Callable
    backward: Callable | None
    layer: str
    name: str
    conventions: LayerConventions = PYTORCH


def layer_check(
    forward: Callable,
    backward: Callable | None = None,
    layer: str = "affine",
    *,
    name: str | None = None,
    convention: str = "pytorch",
    momentum: str | None = None,
    running_var: str | None = None,
    p: str | None = None,
) -> LayerCheck:
    """A per-layer check of ``forward``/``backward`` (CS231n signatures) as ``layer``.
    ``convention="cs231n"`` declares CS231n's batchnorm running average (``m old + (1 - m)
    batch``, m = 0.9, the biased variance stored) and ``p`` as the keep probability;
    ``momentum`` ("pytorch"/"cs231n"), ``running_var`` ("unbiased"/"biased") and ``p``
    ("drop"/"keep") override one part."""
    key = ALIASES.get(layer.lower(), layer.lower()) if isinstance(layer, str) else layer
    if key not in LAYERS:
        raise LearnerError(
            f"unknown layer {layer!r}: write one of {', '.join(LAYERS)} "
            "(nnparity checks these layers one at a time)"
        )
    if not callable(forward) or (backward is not None and not callable(backward)):
        raise LearnerError(
            f"layer_check({layer!r}) takes your forward and backward functions, got "
            f"{type(forward).__name__} and {type(backward).__name__}"
        )
    if convention not in ("pytorch", "cs231n"):
        raise LearnerError(f"convention is 'pytorch' or 'cs231n', got {convention!r}")
    conv = CS231N if convention == "cs231n" else PYTORCH
    for label, value, allowed in (
        ("momentum", momentum, ("pytorch", "cs231n")),
        ("running_var", running_var, ("unbiased", "biased")),
        ("p", p, ("drop", "keep")),
    ):
        if value is not None:
            if value not in allowed:
                raise LearnerError(f"{label} is {' or '.join(map(repr, allowed))}, got {value!r}")
            conv = replace(conv, **{label: value})
    return LayerCheck(forward, backward, key, name or getattr(forward, "__name__", key), conv)


@dataclass(frozen=True)
class LayerVerdict:
    """One layer's answer: ``code`` (``match`` or ``implementation_bug``), the findings, the
    cases run, the largest relative difference per tensor where they agreed."""

    name: str
    layer: str
    code: str
    findings: tuple[Finding, ...]
    cases: tuple[str, ...]
    worst: dict[str, float] = field(default_factory=dict)

    def render(self) -> str:
        head = f"{self.name} ({self.layer}): {self.code}"
        lines = [head, f"  cases: {'; '.join(self.cases)}"]
        if self.code == "match" and self.worst:
            agreed = ", ".join(f"{k} {v:.1e}" for k, v in self.worst.items())
            lines.append(f"  largest relative difference: {agreed}")
        for f in self.findings:
            lines += [
                f"  {f.code} [{', '.join(f.params)}]",
                f"    evidence: {f.evidence}",
                f"    fix: {f.hint}",
            ]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layer": self.layer,
            "code": self.code,
            "cases": list(self.cases),
            "worst": self.worst,
            "findings": [
                {"code": f.code, "tensors": list(f.params), "evidence": f.evidence, "fix": f.hint}
                for f in self.findings
            ],
        }


@dataclass(frozen=True)
class LayersResult:
    """Every layer's verdict; ``code`` is ``match`` when all match. Reads like a
    ``CheckResult`` where ``nnparity check`` and the sandbox need it (``as_dict``,
    ``render``, ``passed``, ``training``)."""

    layers: tuple[LayerVerdict, ...]
    training: Training = Training("not_assessed", reached="per-layer checks train nothing")

    @property
    def code(self) -> str:
        return "match" if all(v.code == "match" for v in self.layers) else "implementation_bug"

    @property
    def verdict(self) -> str:
        return self.code

    @property
    def passed(self) -> bool:
        return self.code == "match"

    def passes(self, require_fit: bool = False) -> bool:
        return self.passed and not require_fit

    def render(self) -> str:
        n_ok = sum(v.code == "match" for v in self.layers)
        head = f"code: {self.code} ({n_ok} of {len(self.layers)} layer(s) match PyTorch)"
        return "\n\n".join([head, *(v.render() for v in self.layers)])

    def __str__(self) -> str:
        return self.render()

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "training": {
                "outcome": self.training.outcome,
                "criterion": "",
                "reached": self.training.reached,
            },
            "findings": [
                {"code": f["code"], "layer": v["name"], **f}
                for v in (x.as_dict() for x in self.layers)
                for f in v["findings"]
            ],
            "layers": [v.as_dict() for v in self.layers],
        }


def is_layer_checks(obj: Any) -> bool:
    """A ``LayerCheck``, or a non-empty list, tuple or dict of them."""
    if isinstance(obj, LayerCheck):
        return True
    items = (
        obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list | tuple) else None
    )
    return bool(items) and all(isinstance(i, LayerCheck) for i in items)


def as_checks(obj: Any) -> list[LayerCheck]:
    if isinstance(obj, LayerCheck):
        return [obj]
    if isinstance(obj, dict):
        return [replace(c, name=str(k)) for k, c in obj.items()]
    return list(obj)


def check_layers(checks: Any) -> LayersResult:
    """Run every layer check (a ``LayerCheck``, or a list or dict of them)."""
    return LayersResult(tuple(check_layer(c) for c in as_checks(checks)))


# -- one layer -----------------------------------------------------------------------------


class _Found:
    """Findings merged by (code, tensors, evidence's what): the cases each showed in."""

    def __init__(self) -> None:
        self.items: dict[tuple, list] = {}
        self.whats: dict[tuple, str] = {}

    def add(self, code: str, tensor: str, what: str, fix: str, case: str, detail: str = "") -> None:
        key = (code, tensor)  # the first case's words; the others counted
        if key not in self.items:
            self.items[key] = [fix, [], detail]
            self.whats[key] = what
        self.items[key][1].append(case)

    def findings(self) -> tuple[Finding, ...]:
        out = []
        for (code, tensor), (fix, cases, detail) in self.items.items():
            what = self.whats[(code, tensor)]
            where = (
                f" (case {cases[0]}"
                + (f", and {len(cases) - 1} more" if len(cases) > 1 else "")
                + ")"
            )
            out.append(Finding(code, (tensor,), None, None, f"{tensor} {what}{where}{detail}", fix))
        return tuple(out)


def check_layer(lc: LayerCheck) -> LayerVerdict:
    """Hold one learner layer to PyTorch on every case of its kind."""
    kind = LAYERS[lc.layer]
    cases = kind.cases(lc.conventions)
    found = _Found()
    worst: dict[str, float] = {}
    for case in cases:
        try:
            if kind.reference is None:
                for tensor, what, fix, code in dropout_findings(
                    case, lc.forward, lc.backward, lc.conventions.p == "keep"
                ):
                    found.add(code, tensor, what, fix, case.label)
                continue
            _one_case(lc, kind, case, found, worst)
        except Exception as e:  # noqa: BLE001 - the learner's layer failed on this case
            found.add(
                "layer_error",
                "call",
                f"raised {type(e).__name__}",
                f"make the layer work at this shape; expected signature {kind.signature}",
                case.label,
                f":\n{learner_tail(e, 2)}",
            )
    findings = found.findings()
    return LayerVerdict(
        lc.name,
        lc.layer,
        "implementation_bug" if findings else "match",
        findings,
        tuple(c.label for c in cases),
        worst,
    )


def _unpack_forward(res: Any) -> tuple[Array, Any]:
    if not (isinstance(res, tuple) and len(res) == 2):
        raise TypeError(f"the forward returned {type(res).__name__}; it must return (out, cache)")
    return np.asarray(res[0], dtype=float), res[1]


def _one_case(lc: LayerCheck, kind: Kind, case: Case, found: _Found, worst: dict) -> None:
    ref_out, grads = kind.reference(case)  # type: ignore[misc]
    lp = copy.deepcopy(case.layer_param)
    args = [case.x.copy(), *(v.copy() for v in case.params.values())]
    res = lc.forward(*args, lp) if lp is not None else lc.forward(*args)
    out, cache = _unpack_forward(res)
    dout = np.random.default_rng(zlib.crc32(case.label.encode())).normal(size=ref_out.shape)
    variants = _Variants(lc.layer, case, dout)
    if not _judge(
        found, worst, case, "out", out, ref_out, float(np.abs(ref_out).max()), variants, lc.layer
    ):
        return  # the gradients follow the forward: not judged
    if lc.layer.endswith("batchnorm") and case.train:
        _judge_running(found, case, lp)
    if lc.backward is None or not case.train:
        return
    expected = grads(dout)
    back = lc.backward(dout.copy(), cache)
    got = back if isinstance(back, tuple | list) else (back,)
    if len(got) != len(expected):
        raise TypeError(
            f"the backward returned {len(got)} value(s); it must return "
            f"{', '.join(expected)} (in that order)"
        )
    for (tensor, ref), mine in zip(expected.items(), got, strict=True):
        floor = bn_dx_scale(case, dout) if tensor == "dx" and "norm" in lc.layer else 0.0
        scale = max(float(np.abs(ref).max()), floor)
        _judge(
            found,
            worst,
            case,
            tensor,
            np.asarray(mine, dtype=float),
            ref,
            scale,
            variants,
            lc.layer,
        )


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
    for v, t in variants.all():
        if tensor in t and _close(mine, t[tensor], scale):
            found.add(
                v.code, tensor, f"differs from PyTorch's: your layer {v.what}", v.fix, case.label
            )
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
    if k and abs(k - 1) > 1e-6 and _close(a / k, ref, scale):
        n = case.x.shape[0]
        hint = (
            f" (= 1/N, N = {n}: averaged where PyTorch sums)"
            if abs(k * n - 1) < 1e-6
            else (f" (= N = {n})" if abs(k - n) < 1e-6 else "")
        )
        return (
            "scale_factor",
            f"is PyTorch's times {k:.6g}{hint}",
            f"remove the factor {k:.6g} from {tensor}",
        )
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
        "output side = 1 + (H + 2 * pad - HH) // stride",
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
                    found.add(
                        "batchnorm_running",
                        key,
                        f"follows the {', '.join(parts)} convention, not the declared "
                        f"momentum={conv.momentum!r}, running_var={conv.running_var!r}",
                        "a convention, not a bug: declare it (layer_check(..., "
                        f"{', '.join(parts)}), or convention='cs231n' for both), or update as "
                        "declared",
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
