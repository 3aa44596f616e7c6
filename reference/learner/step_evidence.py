"""The evidence one observed step gives the hypothesis search (``hypotheses.StepData``): the
twin's activations, dL/da and dL/dz_L, the learner's gradients with the declared L2 taken
off, their tolerances, and the whole-output candidates for dL/dz_L (``output_dz``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from .evidence import to_tensors
from .hypotheses import StepData
from .output_dz import (
    CLIPS,
    bce_clip_dz,
    ce_clip_dz,
    logits_dz,
    softmax_axis_dz,
    softmax_diag_dz,
    softmax_diagflat_dz,
    softmax_twice_dz,
    target_columns_dz,
    target_mean_dz,
    target_missing_dz,
)

if TYPE_CHECKING:
    from .runner import Obs
    from .torch_side import Reference, RefStep

Tensor = torch.Tensor


def step_data(
    obs: Obs,
    X: np.ndarray,
    y: np.ndarray,
    ref: Reference,
    rs: RefStep,
    atol: float,
    rtol: float,
    floor: float = 0.0,
) -> StepData:
    """Evidence of one observed step for the hypothesis search (float64 torch); ``floor``: the
    least atol scale (a float16 learner's round-off does not shrink with its gradients)."""
    _, yt = ref.tensors(X, y, torch.float64)
    a = [t.to(torch.float64) for t in rs.a]
    z = [None] + [t.to(torch.float64) for t in rs.z[1:]]
    ar = a[-1].detach().requires_grad_(True)
    (dl_da,) = torch.autograd.grad(ref.loss_of(ar, yt, False), ar)

    def dz_of(target: Tensor) -> Tensor:
        zr = z[-1].detach().requires_grad_(True)
        loss = ref.loss_of(zr if ref.stable else ref.acts[-1](zr), target, ref.stable)
        return torch.autograd.grad(loss, zr)[0]

    dl_dz = dz_of(yt)
    scale = max((float(np.abs(v).max(initial=0.0)) for v in rs.grads.values()), default=1.0)
    scale = max(scale if scale > 0 else 1.0, floor)
    tol = {k: atol * scale + obs.noise.get(k, 0.0) for k in obs.grads}
    new = to_tensors(obs.after) if obs.after is not None else None
    P = to_tensors(obs.params)
    g, ref_g = to_tensors(obs.grads), to_tensors(rs.grads)
    if ref.l2 or ref.l2_bias:  # the hypotheses are about the data loss: the declared L2 off
        g = {k: v - ref.l2_on(k) * P[k] for k, v in g.items()}
        ref_g = {k: v - ref.l2_on(k) * P[k] for k, v in ref_g.items()}
    alt = {}
    if ref.spec.loss.name == "cross_entropy" and z[-1].shape[0] > 1:
        alt["softmax_axis"] = softmax_axis_dz(z[-1], yt, ref.reduction)
        alt["softmax_axis_shifted"] = softmax_axis_dz(z[-1], yt, ref.reduction, shifted=True)
    if ref.spec.loss.name == "bce" and ref.stable:  # a safe log's epsilon in the chain rule
        alt.update({f"clip {e:g}": bce_clip_dz(z[-1], yt, e, ref.reduction) for e in CLIPS})
        alt["clamp 1e-12"] = bce_clip_dz(z[-1], yt, 1e-12, ref.reduction, clamp=True)
        alt.update({f"add {e:g}": bce_clip_dz(z[-1], yt, e, ref.reduction, "add") for e in CLIPS})
        alt.update({f"out {e:g}": bce_clip_dz(z[-1], yt, e, ref.reduction, "out") for e in CLIPS})
        alt.update({f"cmask {e:g}": bce_clip_dz(z[-1], yt, e, ref.reduction, "mask")
                    for e in CLIPS})  # fmt: skip
    if ref.spec.loss.name == "cross_entropy":  # a safe log's epsilon, or a clipped softmax
        alt.update({f"ceclip {e:g}": ce_clip_dz(z[-1], yt, e, ref.reduction, dl_dz)
                    for e in CLIPS})  # fmt: skip
        alt.update({f"ceout {e:g}": ce_clip_dz(z[-1], yt, e, ref.reduction, dl_dz, "out")
                    for e in CLIPS})  # fmt: skip
        ls = float(ref.spec.loss.kwargs.get("label_smoothing", 0.0))
        alt.update({f"ceadd {e:g}": ce_clip_dz(z[-1], yt, e, ref.reduction, dl_dz, "add", ls)
                    for e in CLIPS})  # fmt: skip
    if ref.spec.loss.name == "cross_entropy":  # the softmax's Jacobian once more on p - y
        alt["softmax_twice"] = softmax_twice_dz(dl_dz, z[-1])
    if ref.spec.loss.name == "cross_entropy" and ref.softmax_out:  # a softmax layer of its own
        alt["softmax_diag"] = softmax_diag_dz(z[-1], yt, ref.reduction)
        alt["softmax_diagflat"] = softmax_diagflat_dz(z[-1], yt, ref.reduction)
    ce, n = ref.spec.loss.name == "cross_entropy", z[-1].shape[0]
    n = n if ref.reduction in ("mean", "batch") else 1
    alt["target_missing"] = target_missing_dz(dz_of, dl_dz, yt, n, ce)  # p for p - y
    if ce and not yt.is_floating_point() and yt.shape[0] > 1:  # probs[:, y] for arange(N)
        alt["target_columns"] = target_columns_dz(dl_dz, yt, n)
    if ce or (ref.spec.loss.name == "bce" and ref.spec.activations[-1].name == "sigmoid"):
        alt["logits_dz"] = logits_dz(z[-1], yt, ref.reduction, ce)  # z - y for p - y
    if z[-1].shape[0] > 1 and z[-1].shape[1] == 1 and yt.is_floating_point():
        alt["target_mean"] = target_mean_dz(dz_of, yt)  # (N, 1) - (N,), reduced back
    return StepData(
        obs.step,
        P,
        new,
        a,
        z,
        dl_da.detach(),
        dl_dz,
        g,
        tol,
        rtol,
        ref_g,
        alt,
    )
