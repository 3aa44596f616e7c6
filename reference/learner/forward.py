"""Forward-pass bugs: single-layer changes that reproduce the learner's output exactly
(weights used transposed, bias not added, another activation applied, a softmax output
normalised over the batch instead of the classes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from . import candidates as C
from .hypotheses import to_tensors
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference

Tensor = torch.Tensor


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
    for l in range(1, L + 1):
        trials = []
        if spec.sizes[l - 1] == spec.sizes[l]:
            trials.append(("transposed", f"W{l} used transposed in the forward pass", {"T": l}))
        if f"b{l}" in T and f"b{l}" not in codec.frozen:
            trials.append(
                (
                    "bias_not_applied",
                    f"layer {l}'s bias {codec.label(f'b{l}')} not added in the forward pass",
                    {"nob": l},
                )
            )
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
        for code, label, mod in trials:
            out = _forward(T, Xt, ref, mod)
            scale = max(float(out.abs().max()), 1e-300)
            if bool(((target - out).abs() <= atol * scale + rtol * out.abs()).all()):
                return [
                    Finding(
                        code,
                        (codec.label(f"{'b' if code == 'bias_not_applied' else 'W'}{l}"),),
                        l,
                        step,
                        f"your forward output equals PyTorch's with {label}",
                        _hint(code, l, names[l - 1], codec.layout),
                    )
                ]
    return [
        Finding(
            "unexplained_mismatch",
            ("forward",),
            None,
            step,
            f"the forward output parts from PyTorch at step {step}; no single-layer "
            "forward bug reproduces it",
            "check each layer's z and a against the twin",
        )
    ]


def _hint(code: str, l: int, act: str, layout: str) -> str:
    z = "z = W @ a_prev + b (W stored (out, in))" if layout == "out_in" else "z = a_prev @ W + b"
    return {
        "transposed": f"use layer {l}'s weights as stored: {z}",
        "bias_not_applied": f"add layer {l}'s bias: {z}",
        "wrong_activation": f"apply the declared activation at layer {l}: a = {act}(z)",
        "softmax_axis": "normalise over the classes, one distribution per sample: "
        + (
            "e / e.sum(axis=0) when samples are columns"
            if layout == "out_in"
            else "e / e.sum(axis=1, keepdims=True)"
        ),
    }[code]


def _forward(T: dict, X: Tensor, ref: Reference, mod: dict) -> Tensor:
    a = X
    L = len(ref.acts)
    for l, act in enumerate(ref.acts, start=1):
        W = T[f"W{l}"].T if mod.get("T") == l else T[f"W{l}"]
        z = a @ W
        if f"b{l}" in T and mod.get("nob") != l:
            z = z + T[f"b{l}"]
        al = mod.get("act")
        if l == L and mod.get("axis0") and not ref.softmax_out:
            a = torch.softmax(z, dim=0)  # the declared softmax, over the wrong axis
        else:
            a = C.FNS[al[1]](z) if al and al[0] == l else act(z)
    if ref.softmax_out:
        return torch.softmax(a, dim=0 if mod.get("axis0") else 1)
    return a
