"""Nesterov momentum in Sutskever et al.'s (2013) form: the learner keeps w and takes its
gradient at the look-ahead point, v <- mu v + g(w - lr mu v), w <- w - lr v, where PyTorch's
``SGD(nesterov=True)`` keeps the look-ahead point itself, p = w - lr mu v, and steps
p <- p - lr (g(p) + mu b). The two are one optimizer in two parameterisations: the learner's
weights part from PyTorch's at every step, by lr mu v, and neither is a bug. Read off the
learner's own steps, v = (w_prev - w) / lr, so p = w + mu (w - w_prev); PyTorch's Nesterov run
from the learner's initial weights must predict each of the learner's post-step weights."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .torch_side import Reference

STEPS = 5  # steps of the learner the free-running prediction is held to


def sutskever_form(
    history: list, ref: Reference, X: Any, y: Any, spec: Spec, atol: float, rtol: float
) -> list[Finding]:
    """The note that the learner's steps are Sutskever's Nesterov form of the declared
    ``sgd(momentum=mu, nesterov=true)`` (no dampening, no weight decay), or nothing.
    ``history``: the learner's observations from step 1 (``obs.params``, ``obs.after``)."""
    kw = spec.opt.kwargs
    mu, lr = float(kw.get("momentum", 0.0) or 0.0), float(kw.get("lr", 1e-3))
    plain = not kw.get("dampening") and not kw.get("weight_decay") and not kw.get("lr_decay")
    seq = [o for o in history[:STEPS] if o.after is not None]
    if not (kw.get("nesterov") and mu and plain) or len(seq) < 2 or seq[0].step != 1:
        return []
    p = {k: np.asarray(v, np.float64) for k, v in seq[0].params.items()}
    b: dict[str, np.ndarray] = {}
    for i, o in enumerate(seq):
        if i and o.step != seq[i - 1].step + 1:
            return []
        g = ref.run(p, X[o.rows], y[o.rows]).grads
        keys = [k for k in p if k in g]
        b = {k: mu * b[k] + g[k] if k in b else np.array(g[k], np.float64) for k in keys}
        p = {k: p[k] - lr * (g[k] + mu * b[k]) if k in keys else p[k] for k in p}
        for k in keys:  # the learner's w after the step: PyTorch's p plus lr mu v (v = b)
            w_new, w_old = p[k] + lr * mu * b[k], np.asarray(o.params[k], np.float64)
            moved = float(np.abs(w_new - w_old).max(initial=0.0))
            allowed = atol * max(moved, 1e-300) + rtol * np.abs(w_new)
            if not bool((np.abs(np.asarray(o.after[k], np.float64) - w_new) <= allowed).all()):
                return []
    return [
        Finding(
            "nesterov_form",
            (),
            None,
            None,
            f"your Nesterov momentum is Sutskever et al.'s form: the gradient at the look-ahead "
            f"point w - lr mu v, with w kept, where PyTorch's SGD(nesterov=True) keeps the "
            f"look-ahead point itself; your weights part from PyTorch's by lr mu v at every "
            f"step, and PyTorch's Nesterov run from your initial weights predicts each of your "
            f"post-step weights through step {seq[-1].step}: the same optimizer",
            "nothing to fix; to compare your weights with PyTorch's, take w + mu (w - w_prev), "
            "your weights plus mu times your last step",
            "note",
        )
    ]
