"""Steps that move nothing where every output saturates: a sigmoid output under binary
cross-entropy on probabilities (a safe log's clip, PyTorch's own BCELoss with its clamped
log) has a gradient below the weights' resolution once the outputs saturate, so plain SGD's
step leaves every weight as it was; the twin's exact gradient, from the logits, still moves
them. A learner whose steps stop there stops where PyTorch's BCELoss stops (review s42a F2:
the nnfs book's classifier on raw inputs was told to update its arrays in place)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nnparity.scratch.schedules import lr_at, of

from .codec import canonical_key
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference


def still_saturated(history: list, bad: list, diag: list, ref: Reference, codec: Codec,
                    X: np.ndarray, y: np.ndarray) -> Finding | None:  # fmt: skip
    """A ``clip_convention`` note where, from the step ``diag``'s first bug is at (past any
    note's steps; else the first of the mismatching records ``bad``), no step of the
    learner's moves a weight (its own step, or the declared plain SGD on its gradients: lr |g|
    under half a unit in the last place of each weight) and PyTorch's own loss module on its
    outputs would move none either; else None."""
    spec, kw = ref.spec, ref.spec.opt.kwargs
    if not ref.stable or spec.opt.name != "sgd" or kw.get("momentum") or any(ref.clip):
        return None
    found = [f.step for f in diag if f.kind != "note" and f.step]  # (past a safe log's note)
    first = min(found) if found else min(r.step for r in bad)
    lr = float(kw.get("lr", 1e-3))
    seen, rows = 0, 0
    for obs, _, _ in history[first - 1 :]:
        lr_t = lr_at(lr, of(kw), obs.step - 1)
        res = {k: 0.5 * np.spacing(np.abs(np.asarray(w, obs.held.get(k, "float64"))))
               for k, w in obs.params.items()}  # fmt: skip
        if obs.after is not None:  # its own step: unmoved
            if any(not np.array_equal(obs.after[k], obs.params[k]) for k in obs.params):
                return None
        elif obs.grads is None or any(
            not np.all(lr_t * np.abs(obs.grads[k]) <= res[k]) for k in obs.params
        ):
            return None
        step = ref.run(obs.params, X[obs.rows], y[obs.rows], literal=True)
        if any(not np.all(lr_t * np.abs(g) <= res[k]) for k, g in step.grads.items()):
            return None  # PyTorch's BCELoss would move it
        a = step.a[-1].numpy()
        rows = len(a)
        seen = int(((a < 1e-7) | (a > 1 - 1e-7)).any(axis=1).sum())
    names = codec.labels(sorted(history[0][0].params, key=canonical_key))
    return Finding(
        "clip_convention",
        names,
        None,
        first,
        f"from step {first} on your steps move no weight, and neither would PyTorch's own "
        f"{spec.loss.name} on your outputs ({seen} of {rows} within 1e-7 of 0 or 1 at the "
        "last step): their gradient is below your weights' resolution (lr |g| under half a "
        "unit in the last place); the twin's exact gradient, from the logits, still moves "
        "them",
        "nothing to fix in your step: a loss on saturated probabilities stops training; scale "
        "your inputs to about unit size (or start from smaller weights) so the outputs leave "
        "saturation, or take dz = (a - y) / N from the logits",
        "note",
    )
