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
judged (they follow the forward). The judging is ``layer_judge``'s; the verdicts
``layer_verdict``'s.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .crash import OwnFailure, learner_tail
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
)
from .layer_dropout import dropout_findings, same_mask
from .layer_judge import _Found, _judge, _judge_running, _Variants
from .layer_state import first_call, frozen, interleaved, plain
from .layer_variants import bn_dx_scale
from .layer_verdict import LayersResult, LayerVerdict
from .paths import LearnerError

Array = np.ndarray


@dataclass(frozen=True)
class Kind:
    cases: Callable[[LayerConventions], list[Case]]
    reference: Callable[[Case], tuple[Array, Callable]] | None
    signature: str


LAYERS: dict[str, Kind] = {
    "affine": Kind(
        affine_cases,
        affine_ref,
        "affine_forward(x, w, b) -> out, cache; affine_backward(dout, cache) -> dx, dw, db",
    ),
    "batchnorm": Kind(
        batchnorm_cases,
        batchnorm_ref,
        "batchnorm_forward(x, gamma, beta, bn_param) -> out, cache; batchnorm_backward(dout, "
        "cache) -> dx, dgamma, dbeta",
    ),
    "spatial_batchnorm": Kind(
        lambda c: batchnorm_cases(c, spatial=True),
        batchnorm_ref,
        "spatial_batchnorm_forward(x, gamma, beta, bn_param) -> out, cache; "
        "spatial_batchnorm_backward(dout, cache) -> dx, dgamma, dbeta",
    ),
    "layernorm": Kind(
        layernorm_cases,
        layernorm_ref,
        "layernorm_forward(x, gamma, beta, ln_param) -> out, cache; layernorm_backward(dout, "
        "cache) -> dx, dgamma, dbeta",
    ),
    "dropout": Kind(
        dropout_cases,
        None,
        "dropout_forward(x, dropout_param) -> out, cache; dropout_backward(dout, cache) -> dx",
    ),
    "conv": Kind(
        conv_cases,
        conv_ref,
        "conv_forward_naive(x, w, b, conv_param) -> out, cache; conv_backward_naive(dout, "
        "cache) -> dx, dw, db",
    ),
    "max_pool": Kind(
        pool_cases,
        pool_ref,
        "max_pool_forward_naive(x, pool_param) -> out, cache; max_pool_backward_naive(dout, "
        "cache) -> dx",
    ),
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
    plain: bool | None = None  # module-level functions (layer_state.plain; None: read here)


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


def check_layer(lc: LayerCheck) -> LayerVerdict:
    """Hold one learner layer to PyTorch on every case of its kind."""
    kind = LAYERS[lc.layer]
    cases = kind.cases(lc.conventions)
    found = _Found()
    worst: dict[str, float] = {}
    masks: dict[str, Array] = {}  # dropout's training masks by case
    for case in cases:
        try:
            if kind.reference is None:
                got, mask = dropout_findings(
                    case, lc.forward, lc.backward, lc.conventions.p == "keep"
                )
                for tensor, what, fix, code in got:
                    found.add(code, tensor, what, fix, case.label)
                if mask is not None:
                    masks[case.label] = mask
                continue
            _one_case(lc, kind, case, found, worst)
        except Exception as e:  # noqa: BLE001 - the learner's layer failed on this case
            if isinstance(e, OwnFailure):
                raise  # the checker's own failure: an internal error, not the learner's
            if "bare" in case.info and type(e).__name__ == "KeyError":
                continue  # it reads statistics its own net stores first: a crash it would see
            found.add(
                "layer_error",
                "call",
                f"raised {type(e).__name__}",
                f"make the layer work at this shape; expected signature {kind.signature}",
                case.label,
                f":\n{learner_tail(e, 2)}",
            )
    if not found.items and lc.backward is not None and kind.reference is not None:
        try:
            own = plain(lc.forward, lc.backward) if lc.plain is None else lc.plain
            interleaved(found, lc.forward, lc.backward, cases, kind.reference, own)
        except Exception:  # noqa: BLE001 - every case ran alone: nothing more to say
            pass
    seeds = [c.layer_param["seed"] for c in cases if c.label in masks]
    twice = same_mask(list(masks.values()), seeds) if masks else None
    if twice:
        found.add(twice[3], twice[0], twice[1], twice[2], " and ".join(masks))
    findings = found.findings()
    return LayerVerdict(
        lc.name,
        lc.layer,
        "implementation_bug" if any(f.kind != "note" for f in findings) else "match",
        findings,
        tuple(c.label for c in cases),
        worst,
    )


def _ours(f: Callable, *args: Any) -> Any:
    """``f(*args)``, a computation of the checker's own on the case alone (no output of the
    learner's), any failure of it an ``OwnFailure`` (review s25g F1: nnparity's broadcast
    error was graded as the learner's ``layer_error``)."""
    try:
        return f(*args)
    except Exception as e:
        raise OwnFailure(f"nnparity's own {getattr(f, '__name__', f)} failed: {e}") from e


def _unpack_forward(res: Any) -> tuple[Array, Any]:
    if not (isinstance(res, tuple) and len(res) == 2):
        raise TypeError(f"the forward returned {type(res).__name__}; it must return (out, cache)")
    return np.asarray(res[0], dtype=float), res[1]


def _one_case(lc: LayerCheck, kind: Kind, case: Case, found: _Found, worst: dict) -> None:
    ref_out, grads = _ours(kind.reference, case)  # type: ignore[misc]
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
    if lc.layer.endswith("batchnorm"):  # what it stores for the next call
        judge = first_call if "bare" in case.info else _judge_running if case.train else frozen
        judge(found, case, lp)
    if lc.backward is None or not case.train:
        return
    expected = grads(dout)
    back = lc.backward(dout.copy(), cache)
    got = back if isinstance(back, tuple | list) else (back,)
    if isinstance(back, dict):  # by name: taken in the order expected where the names fit
        keys = [k for k in expected if k in back]
        if len(keys) != len(expected):
            raise TypeError(
                f"the backward returned a dict with keys {', '.join(map(str, back))}; return "
                f"the tuple ({', '.join(expected)})"
            )
        got = tuple(back[k] for k in expected)
    if len(got) != len(expected):
        raise TypeError(
            f"the backward returned {len(got)} value(s); it must return "
            f"{', '.join(expected)} (in that order)"
        )
    for (tensor, ref), mine in zip(expected.items(), got, strict=True):
        norm = tensor == "dx" and "norm" in lc.layer
        floor = _ours(bn_dx_scale, case, dout, lc.layer) if norm else 0.0
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
