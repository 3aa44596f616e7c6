"""An L2 coefficient over each batch's rows inside a step that hides its gradients under an
adaptive optimizer (scikit-learn's MLP with Adam: ``(grad + alpha W) / n_samples`` of each
batch): the steps are the declared optimizer's fed with PyTorch's gradients whose L2 term is
l2 B / n, B the full batches' rows and n the step's own; a note where the declared l2 holds on
the full batches (review s47 F2: the SGD form was the note, Adam's unexplained)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .codec import canonical_key
from .evidence import to_tensors
from .optim_sim import Sim
from .result import Finding
from .state_restart import took

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference


def per_batch_update(seen: list, ref: Reference, codec: Codec, first: int, atol: float,
                     rtol: float) -> list[Finding]:  # fmt: skip
    """The note where every step of ``seen`` ((obs, RefStep, ...) from step 1, through
    ``first`` and two after) is the declared optimizer's fed with PyTorch's gradients, the
    weights' L2 term scaled by B / n; else []."""
    spec = ref.spec
    if spec.opt.name == "sgd" or not seen or seen[0][0].step != 1 or not ref.l2:
        return []
    full = max(len(o.rows) for o, *_ in seen)
    upto = [h for h in seen if h[0].step <= first + 2]
    if all(len(o.rows) == full for o, *_ in upto) or upto[-1][0].step < first:
        return []
    sim = Sim(spec.opt.name, dict(spec.opt.kwargs))
    for obs, rs, *_ in upto:
        if obs.after is None:
            return []
        n = len(obs.rows)
        g = {k: v + (full / n - 1) * ref.l2_on(k) * np.asarray(obs.params[k])
             if k[0] == "W" else v for k, v in rs.grads.items()}  # fmt: skip
        P, A = to_tensors(obs.params), to_tensors(obs.after)
        if not took(sim.step(P, to_tensors(g)), P, A, atol, rtol):
            return []
    ws = [k for k in sorted(seen[0][0].params, key=canonical_key) if k[0] == "W"]
    short = min(len(o.rows) for o, *_ in upto)
    return [
        Finding(
            "regularization_mismatch",
            codec.labels(ws),
            None,
            first,
            f"your steps are {spec.opt}'s fed with gradients whose L2 term is over each batch's "
            f"rows: the declared l2 on your full batches of {full} rows, and on a batch of "
            f"{short} its own share, l2 {full}/{short} (a penalty lambda / (2 m) sum W^2 per "
            "batch: scikit-learn's MLP, alpha / n_samples of each batch); the twin's l2 is one "
            "coefficient",
            "nothing to fix if the penalty per batch is meant; for one coefficient on every "
            "batch, divide lambda by the training set's size",
            "note",
        )
    ]
