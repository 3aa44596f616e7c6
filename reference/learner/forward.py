"""Forward-pass bugs: single-layer changes that reproduce the learner's output exactly
(weights used transposed, bias not added, another activation applied, a softmax output
normalised over the batch instead of the classes)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from nnparity.reference.variants import torch_activations

from . import candidates as C
from .evidence import to_tensors
from .golden import golden
from .layout_decl import all_square, layout_finding, layout_or
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference

Tensor = torch.Tensor


def columns_output(steps: list[int], history: list, atol: float, rtol: float) -> list[Finding]:
    """A forward output of (outputs, samples) where the two are equal (a Nielsen net, batch
    10 and 10 digits): transposed it is PyTorch's at every step it parts, a note (a
    non-square one is read transposed without a word)."""
    for k in steps:
        obs, rs, _ = history[k - 1]
        o, e = np.asarray(obs.out), np.asarray(rs.out, dtype=np.float64)
        if o.shape[0] != o.shape[1] or not np.allclose(
            o.T, e, rtol, atol * max(1.0, np.abs(e).max())
        ):
            return []
    return [
        Finding(
            "forward_output_transposed",
            ("output",),
            None,
            steps[0],
            "your forward output is PyTorch's transposed, one column per sample, at every step "
            "it parts: with as many outputs as samples its shape cannot say which it is",
            "nothing to fix in the network; return out.T (one row per sample) from the forward "
            "you pass, or check with another batch size",
            "note",
        )
    ]


def explain_forward(
    ref: Reference,
    P: dict,
    X: np.ndarray,
    out_l: np.ndarray,
    atol: float,
    rtol: float,
    codec: Codec,
    step: int,
) -> list[Finding]:
    """Single-layer forward bugs that reproduce the learner's output."""
    spec = ref.spec
    T = to_tensors(P)
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64))
    target = torch.as_tensor(out_l)
    L = spec.n_layers
    names = [a.name for a in spec.activations]
    other = ""  # the other layout's reading, where a symmetric weight makes it one layer's
    if all_square(spec.sizes) and _equal(_forward(T, Xt, ref, {"T": "all"}), target, atol, rtol):
        sym = [l for l in range(1, L + 1) if _equal(T[f"W{l}"].T, T[f"W{l}"], atol, rtol)]
        if not sym:
            return [layout_finding(codec.layout, step)]  # the declared layout is the other one
        other = layout_or(codec.layout, [codec.label(f"W{l}") for l in sym])
    if L > 1 and set(names) == {"sigmoid"} and _equal(_forward(T, Xt, ref, {"neg": "all"}),
                                                      target, atol, rtol):  # fmt: skip
        return [  # (an odd activation's f(-z) is the next layer's -W: sigmoid's alone read)
            Finding(
                "wrong_activation",
                tuple(codec.label(f"W{l}") for l in range(1, L + 1)),
                None,
                step,
                "your forward output equals PyTorch's with sigmoid(-z) at every layer: "
                "1 / (1 + np.exp(z)), the sign of exp(-z) left out",
                "apply sigmoid(z) itself: 1 / (1 + np.exp(-z))",
            )
        ]
    for l in range(1, L + 1):
        trials = []
        if spec.sizes[l - 1] == spec.sizes[l]:
            trials.append(("transposed", f"W{l} used transposed in the forward pass", {"T": l}))
            if l < L:  # a skip connection, a = a_prev + act(z): a network no spec declares
                trials.append(
                    ("residual_connection", f"layer {l} adding its input (a residual "
                     f"connection: a = a_prev + {names[l - 1]}(z))", {"res": l})
                )  # fmt: skip
        if f"b{l}" in T and f"b{l}" not in codec.frozen:
            trials.append(
                (
                    "bias_not_applied",
                    f"layer {l}'s bias {codec.label(f'b{l}')} not added in the forward pass",
                    {"nob": l},
                )
            )
        if names[l - 1] == "sigmoid":  # (review s59b F10: iamtrask's typo)
            trials.append(("wrong_activation", f"sigmoid(-z) at layer {l}: 1 / (1 + np.exp(z)), "
                           "the sign of exp(-z) left out", {"neg": l}))  # fmt: skip
        if f"b{l}" in T and f"b{l}" not in codec.frozen:
            trials.append(("wrong_activation", f"layer {l}'s bias added after its activation, "
                           f"{names[l - 1]}(x W) + b", {"after": l}))  # fmt: skip
        for g in C.FNS:
            if g != names[l - 1]:
                trials.append(
                    (
                        "wrong_activation",
                        f"{g} applied at layer {l} instead of {names[l - 1]}",
                        {"act": (l, g)},
                    )
                )
        if l == L and (ref.softmax_out or names[-1] == "softmax") and Xt.shape[0] > 1:
            trials.append(
                (
                    "softmax_axis",
                    "softmax normalised over the samples instead of over the classes",
                    {"axis0": True},
                )
            )
            trials.append(
                (
                    "softmax_axis",
                    "softmax normalised over every entry of the batch at once (np.sum with no "
                    "axis) instead of over each sample's classes",
                    {"axis0": "all"},
                )
            )
            trials.append(
                (
                    "softmax_axis",
                    "softmax normalised over the samples instead of over the classes, of the "
                    "scores less each row's maximum (CS231n's shift, then a sum over axis 0)",
                    {"axis0": "shifted"},
                )
            )
        for code, label, mod in trials:
            if _equal(_forward(T, Xt, ref, mod), target, atol, rtol):
                return [
                    Finding(
                        code,
                        (codec.label(f"{'b' if code == 'bias_not_applied' else 'W'}{l}"),),
                        l,
                        step,
                        f"your forward output equals PyTorch's with {label}",
                        (
                            f"add layer {l}'s bias before its activation: "
                            f"a = {names[l - 1]}(x W + b)"
                            if "after" in mod
                            else _hint(code, l, names[l - 1], codec.layout)
                        )
                        + other,
                    )
                ]
    for l in range(1, L + 1):
        fitted = _fit_parameter(T, Xt, ref, l, target, atol, rtol)
        if fitted is not None:
            act = spec.activations[l - 1]
            key, v, declared = fitted
            kw = {**act.kwargs, key: v}
            text = f"{act.name}({', '.join(f'{k}={_val(x)}' for k, x in kw.items())})"
            v, declared = _val(v), _val(declared)
            return [
                Finding(
                    "wrong_activation",
                    (codec.label(f"W{l}"),),
                    l,
                    step,
                    f"your forward output equals PyTorch's with {text} at layer {l}, where "
                    f"{act.name} with {key}={declared} is declared",
                    f"if {key}={v} is what you mean, declare {text}; if not, use "
                    f"{key}={declared} in layer {l}'s activation",
                )
            ]
    clipped = _clipped(_forward(T, Xt, ref, {}), target, atol, rtol)
    if clipped is not None:
        return [_clip_finding(*clipped, names[-1], step)]
    return [
        Finding(
            "unexplained_mismatch",
            ("forward",),
            None,
            step,
            f"the forward output parts from PyTorch at step {step}; no single-layer "
            "forward bug reproduces it",
            "check each layer's z and a against the twin"
            + (
                f"; your bias is folded in as the {codec.conv.fold} column: if it is the "
                f"{'first' if codec.conv.fold == 'last' else 'last'} (Ng's Theta puts it "
                f"first), declare fold='{'first' if codec.conv.fold == 'last' else 'last'}'"
                if any(s.role == "Wb" for s in codec.slots)
                else ""
            ),
        )
    ]


def _equal(out: Tensor, target: Tensor, atol: float, rtol: float) -> bool:
    """Whether ``target`` is ``out`` within the hypothesis tolerance (atol of out's scale)."""
    scale = max(float(out.abs().max()), 1e-300)
    return bool(((target - out).abs() <= atol * scale + rtol * out.abs()).all())


def _clipped(
    out: Tensor, target: Tensor, atol: float, rtol: float
) -> tuple[float | None, float | None, int, int] | None:
    """(lo, hi, past, n) where ``target`` is ``out`` clipped to [lo, hi], ``past`` of its
    ``n`` outputs lying beyond a bound by more than the tolerance (a bound no output reaches
    is None); None where no clip reproduces it, or where no output lies inside the bounds (a
    constant output). The bounds are read off ``target``: its least and greatest values."""
    lo, hi = float(target.min()), float(target.max())
    scale = max(float(out.abs().max()), 1e-300)
    slack = atol * scale + rtol * max(abs(lo), abs(hi))
    below, above = out < lo - slack, out > hi + slack
    past = int((below | above).sum())
    inside = (out > lo + slack) & (out < hi - slack)  # a constant output is no clip of a varied one
    clip = out.clamp(lo, hi)
    if (
        not past
        or not bool(inside.any())
        or not bool(((target - clip).abs() <= atol * scale + rtol * clip.abs()).all())
    ):
        return None
    return (
        (lo if bool(below.any()) else None),
        (hi if bool(above.any()) else None),
        past,
        out.numel(),
    )


def _clip_finding(lo: float | None, hi: float | None, past: int, n: int, act: str,
                  step: int) -> Finding:  # fmt: skip
    """``clipped_output``: the forward output is the declared one clipped (a bound far wider
    than a safe log's epsilon, which ``output_form`` takes as a convention)."""
    bounds = " and ".join(
        t
        for t in (lo is not None and f"below at {lo:.4g}", hi is not None and f"above at {hi:.4g}")
        if t
    )
    safe = (
        "; to keep a log finite, clip inside the loss with an eps of 1e-7 or less, or take the "
        "loss on the logits"
        if act in ("sigmoid", "softmax")
        else ""
    )
    return Finding(
        "clipped_output",
        ("forward",),
        None,
        step,
        f"your forward output equals PyTorch's clipped {bounds}: {past} of {n} outputs lie "
        f"past the bound at step {step} and are held there, where the output no longer "
        "follows the weights (where your gradients agree with PyTorch's, only this forward "
        "function clips: the one your predictions come from)",
        f"remove the clip from your forward pass{safe}",
    )


def _hint(code: str, l: int, act: str, layout: str) -> str:
    z = "z = W @ a_prev + b (W stored (out, in))" if layout == "out_in" else "z = a_prev @ W + b"
    return {
        "transposed": f"use layer {l}'s weights as stored: {z}",
        "residual_connection": "a skip connection is a choice no dense declaration expresses "
        "yet: check the network without it, or each layer alone with check_layers",
        "bias_not_applied": f"add layer {l}'s bias: {z}",
        "wrong_activation": f"apply the declared activation at layer {l}: a = {act}(z)",
        "softmax_axis": "normalise over the classes, one distribution per sample: "
        + (
            "e / e.sum(axis=0) when samples are columns"
            if layout == "out_in"
            else "e / e.sum(axis=1, keepdims=True)"
        ),
    }[code]


CHOICES = {"approximate": ("none", "tanh")}  # the values of activations' named forms


def _val(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)  # as a spec writes it


def _fit_parameter(
    T: dict, X: Tensor, ref: Reference, l: int, target: Tensor, atol: float, rtol: float
) -> tuple[str, Any, Any] | None:
    """(key, value, declared value) of one float hyperparameter of layer ``l``'s declared
    activation (a leaky slope, an ELU alpha, a softplus beta) with which the forward reproduces
    ``target``: the best of a grid of round values (1, 2, 2.5, 3, 5 times powers of ten, both
    signs), refined by golden-section search between its neighbours; or one of a named form's
    other values (``CHOICES``)."""
    act = ref.spec.activations[l - 1]
    if act.name not in torch_activations:
        return None

    def miss(key: str, v: Any) -> float:
        """How far the forward with ``key=v`` stays outside tolerance (<= 0: it fits)."""
        try:
            fn = torch_activations[act.name].build({**act.kwargs, key: v})
        except Exception:  # out of the variant's range
            return float("inf")
        out = _forward(T, X, ref, {"fn": (l, fn)})
        bound = atol * max(float(out.abs().max()), 1e-300) + rtol * out.abs()
        return float(((target - out).abs() - bound).max())

    for key, default in torch_activations[act.name].defaults.items():
        if isinstance(default, str):  # a named form (gelu's approximate): each other one
            named = str(act.kwargs.get(key, default))
            for v in CHOICES.get(key, ()):
                if v != named and miss(key, v) <= 0:
                    return key, v, named
            continue
        if isinstance(default, bool) or not isinstance(default, float):
            continue
        declared = float(act.kwargs.get(key, default))
        at = partial(miss, key)

        grid = sorted(
            {s * m * 10.0**e for s in (1, -1) for m in (1, 2, 2.5, 3, 5) for e in range(-3, 2)}
        )
        grid = [v for v in grid if v != declared]
        scores = [at(v) for v in grid]
        i = min(range(len(grid)), key=scores.__getitem__)
        if scores[i] <= 0:
            return key, grid[i], declared
        v = golden(at, grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)], 60)[0]
        if at(v) <= 0 and abs(v - declared) > 1e-6 * max(abs(declared), 1e-12):
            return key, v, declared
    return None


def _forward(T: dict, X: Tensor, ref: Reference, mod: dict) -> Tensor:
    a = X
    L = len(ref.acts)
    for l, act in enumerate(ref.acts, start=1):
        W = T[f"W{l}"].T if mod.get("T") in (l, "all") else T[f"W{l}"]
        z = a @ W
        if f"b{l}" in T and mod.get("nob") != l and mod.get("after") != l:
            z = z + T[f"b{l}"]
        z = -z if mod.get("neg") in (l, "all") else z
        al = mod.get("act")
        if l == L and mod.get("axis0") and not ref.softmax_out:
            a = _softmax(z, mod)  # the declared softmax, over the wrong axis
        else:
            fn = mod.get("fn")
            if fn and fn[0] == l:
                a = fn[1](z)
            else:
                a = (C.FNS[al[1]](z) if al and al[0] == l else act(z)) + (
                    a if mod.get("res") == l else T[f"b{l}"] if mod.get("after") == l else 0.0
                )
    if ref.softmax_out:
        return _softmax(a, mod)
    return a


def _softmax(z: Tensor, mod: dict) -> Tensor:
    """Over the classes; ``axis0``: over the samples, or "all": over every entry at once."""
    if mod.get("axis0") == "all":
        return torch.softmax(z.reshape(-1), dim=0).reshape(z.shape)
    if mod.get("axis0") == "shifted":  # a sum over the batch does not undo a per-row shift
        return torch.softmax(z - z.max(dim=1, keepdim=True).values, dim=0)
    return torch.softmax(z, dim=0 if mod.get("axis0") else 1)
