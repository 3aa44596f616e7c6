"""A safe log's epsilon inside a step that shows no gradient, under an optimizer whose step
hides the gradient's size (Adagrad, RMSprop, Adam: no gradient can be read off the weights,
as under SGD): the steps are the declared optimizer's fed with the gradient of binary
cross-entropy in a safe-log form (``output_dz.bce_clip_dz``), not the exact one, from the
first failing step on (review s42a F3: the nnfs book's Adagrad classifier handed over as one
training iteration was an ``unexplained_mismatch`` once a sample saturated)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import torch

from nnparity.reference.twin import to_numpy

from .codec import canonical_key
from .evidence import to_tensors
from .optim_sim import Sim
from .output_dz import CLIP_FORMS, CLIPS, bce_clip_dz
from .result import Finding
from .state_restart import took

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference

AHEAD = 3  # the steps from the first failing one that a form must take


def clip_stepped(seen: list, ref: Reference, X: np.ndarray, y: np.ndarray, codec: Codec,
                 first: int, atol: float, rtol: float) -> list[Finding]:  # fmt: skip
    """A ``clip_convention`` note where the learner's post-step weights of ``seen`` ((obs,
    RefStep, ...) from step 1) are the declared optimizer's fed with PyTorch's exact gradients
    up to a step, and from it with one safe-log form's, through step ``first`` and the steps
    after it; else []."""
    spec = ref.spec
    plain = spec.opt.name == "sgd" and not spec.opt.kwargs.get("momentum")  # (implied there)
    if not ref.stable or plain or not seen or seen[0][0].step != 1:
        return []
    k = next((i for i, h in enumerate(seen) if h[0].step == first), None)
    if k is None:
        return []
    sim, chosen, start = Sim(spec.opt.name, dict(spec.opt.kwargs)), None, 0
    for i, (obs, rs, *_) in enumerate(seen[: k + AHEAD]):
        P, A = to_tensors(obs.params), to_tensors(obs.after)
        if chosen is None:
            trial = copy.deepcopy(sim)
            if took(trial.step(P, to_tensors(rs.grads)), P, A, atol, rtol):
                sim = trial  # the exact gradient: no sample saturates yet
                continue
            chosen, start = _pick(sim, seen[i : i + AHEAD], ref, X, y, atol, rtol), obs.step
            if chosen is None:
                return []
        G = to_tensors(_grads(ref, obs, X, y, chosen[1], chosen[0]))
        if not took(sim.step(P, G), P, A, atol, rtol):
            return []
    if chosen is None:
        return []
    form, eps = chosen
    names = codec.labels(sorted(seen[0][0].params, key=canonical_key))
    said = CLIP_FORMS[form].format(e=f"{eps:g}")
    return [
        Finding(
            "clip_convention",
            names,
            len(spec.sizes) - 1,
            start,
            f"from step {start}, where a sample saturates, your post-step weights are "
            f"{spec.opt}'s fed with the gradient of binary cross-entropy with {said}: a safe "
            "log's epsilon, where the twin takes the exact gradient from the logits "
            "(BCEWithLogitsLoss); the two differ only where a sample's output is within eps "
            "of 0 or 1",
            "nothing to fix: a safe log's epsilon is a convention; to keep the gradient of "
            "saturated samples, use dz = (a - y) / N for a sigmoid output under binary "
            "cross-entropy",
            "note",
        )
    ]


def _pick(sim: Sim, steps: list, ref: Reference, X: np.ndarray, y: np.ndarray, atol: float,
          rtol: float) -> tuple[str, float] | None:  # fmt: skip
    """The safe-log form (form, eps) whose gradients, fed to ``sim``, take every one of
    ``steps``; None where none does."""
    keys = [("clamp", 1e-12)] + [(f, e) for f in ("clip", "add", "out") for e in CLIPS]
    for key in keys:
        trial = copy.deepcopy(sim)
        for obs, *_ in steps:
            P, A = to_tensors(obs.params), to_tensors(obs.after)
            G = to_tensors(_grads(ref, obs, X, y, key[1], key[0]))
            if not took(trial.step(P, G), P, A, atol, rtol):
                break
        else:
            return key
    return None


def _grads(ref: Reference, obs: object, X: np.ndarray, y: np.ndarray, eps: float,
           form: str) -> dict[str, np.ndarray]:  # fmt: skip
    """The parameters' gradients at ``obs.params`` with the output's dL/dz of the safe-log
    ``form`` (and the declared L2 terms)."""
    twin = ref.twin
    twin.set_params(obs.params)  # type: ignore[attr-defined]
    rows = obs.rows  # type: ignore[attr-defined]
    Xt, yt = ref.tensors(X[rows], y[rows])
    a = Xt
    for lin, act in zip(ref.linears, ref.acts, strict=True):
        z = lin(a)
        a = act(z)
    dz = bce_clip_dz(z.detach(), yt, eps, ref.reduction, form if form != "clip" else False)
    names = [n for n in twin.names if n not in ref.frozen]
    ps = [twin.params[n] for n in names]
    gs = torch.autograd.grad(z, ps, grad_outputs=dz, allow_unused=True)
    out = {}
    for n, p, g in zip(names, ps, gs, strict=True):
        g = torch.zeros_like(p) if g is None else g
        lam = ref.l2_on(n)
        out[n] = to_numpy(n, g + lam * p.detach() if lam else g)
    return out
