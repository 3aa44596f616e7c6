"""Steps that move nothing where every output saturates: a sigmoid output under binary
cross-entropy on probabilities (a safe log's clip, PyTorch's own BCELoss with its clamped
log) has a gradient below the weights' resolution once the outputs saturate, so the declared
optimizer's step (from a state that carries nothing: plain SGD, or any optimizer saturated
from step 1) leaves every weight as it was; the twin's exact gradient, from the logits, still
moves them. A learner whose steps stop there stops where PyTorch's BCELoss stops (review s42a
F2: the nnfs book's classifier on raw inputs was told to update its arrays in place); from
step 1 nothing can be told (s44 F1), and no verdict is given."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from .codec import canonical_key
from .evidence import to_tensors
from .optim_sim import Sim
from .paths import LearnerError
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference


def still_saturated(history: list, bad: list, diag: list, ref: Reference, codec: Codec,
                    X: np.ndarray, y: np.ndarray) -> Finding | None:  # fmt: skip
    """A ``clip_convention`` note where, from the step ``diag``'s first bug is at (past any
    note's steps; else the first of the mismatching records ``bad``), no step of the
    learner's moves a weight (its own step, or the declared optimizer on its gradients: under
    half a unit in the last place of each weight) and the declared optimizer fed with PyTorch's
    own loss module's gradients on its outputs would move none either; else None. Where that
    holds from step 1, no step the check sees can tell a correct program from a broken one
    (review s44 F1: a step that never writes back passed): refused, with the fix."""
    spec = ref.spec
    if not ref.stable or any(ref.clip) or history[0][0].step != 1:
        return None
    found = [f.step for f in diag if f.kind != "note" and f.step]  # (past a safe log's note)
    first = min(found) if found else min(r.step for r in bad)
    sim = Sim(spec.opt.name, dict(spec.opt.kwargs))
    for obs, rs, *_ in history[: first - 1]:  # the steps that agreed, from the exact gradients
        sim.step(to_tensors(obs.params), to_tensors(rs.grads))
    seen, rows = 0, 0
    for obs, *_ in history[first - 1 :]:
        res = {k: 0.5 * np.spacing(np.abs(np.asarray(w, obs.held.get(k, "float64"))))
               for k, w in obs.params.items()}  # fmt: skip
        P = to_tensors(obs.params)
        own = copy.deepcopy(sim)
        if obs.after is not None:  # its own step: unmoved
            if any(not np.array_equal(obs.after[k], obs.params[k]) for k in obs.params):
                return None
        elif obs.grads is None or _moves(own.step(P, to_tensors(obs.grads)), P, res):
            return None
        step = ref.run(obs.params, X[obs.rows], y[obs.rows], literal=True)
        if _moves(sim.step(P, to_tensors(step.grads)), P, res):
            return None  # PyTorch's BCELoss would move it
        a = step.a[-1].numpy()
        rows = len(a)
        seen = int(((a < 1e-7) | (a > 1 - 1e-7)).any(axis=1).sum())
    said = (
        f"your steps move no weight, and neither would {spec.opt}'s fed with PyTorch's own "
        f"{spec.loss.name} on your outputs ({seen} of {rows} within 1e-7 of 0 or 1 at the last "
        "step): their gradient is below your weights' resolution; the twin's exact gradient, "
        "from the logits, still moves them"
    )
    if first == 1:
        raise LearnerError(
            f"no verdict: from step 1 {said}, so no step the check compares can tell a correct "
            "program from a broken one; scale your inputs to about unit size (or start from "
            "smaller weights) so the outputs leave saturation, and check again"
        )
    names = codec.labels(sorted(history[0][0].params, key=canonical_key))
    return Finding(
        "clip_convention",
        names,
        None,
        first,
        f"from step {first} on {said}",
        "nothing to fix in your step: a loss on saturated probabilities stops training; scale "
        "your inputs to about unit size (or start from smaller weights) so the outputs leave "
        "saturation, or take dz = (a - y) / N from the logits",
        "note",
    )


def _moves(Q: dict, P: dict, res: dict) -> bool:
    """Whether the step P -> Q moves some weight by half a unit in its last place or more."""
    return any(not bool(((Q[k] - P[k]).abs().numpy() <= res[k]).all()) for k in Q if k in res)
