"""A declared learning-rate decay whose step counter advances at each parameter's or each
layer's update instead of once per step (review s30a F2, F3: an ``it += 1`` inside the loop
over the parameters; the nnfs book's pre_update_params / update_params / post_update_params
called once per layer): the steps are the declared optimizer's at lr / (1 + d c), with c the
updates counted before this one, (t - 1) U + i for unit i of U, in update order or reversed.
Each parameter's step is fitted one multiplier per step; a counting that gives every one of
them, within tolerance, is named."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .codec import canonical_key
from .evidence import to_tensors
from .optim_variants import Sim
from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec


def per_unit_decay(seq: list, spec: Spec, codec: Codec, atol: float, rtol: float) -> list[Finding]:
    """``lr_schedule`` naming the counting (see the module) that takes every step of ``seq``
    ((obs, gradients) pairs from step 1), or []."""
    kw = spec.opt.kwargs
    d = float(kw.get("lr_decay", 0.0))
    if not d or kw.get("momentum") or not seq or seq[0][0].step != 1:
        return []
    sim = Sim(spec.opt.name, {**dict(kw), "lr_decay": 0.0})  # the steps at the plain lr
    steps = []
    for obs, g in seq:
        P, A = to_tensors(obs.params), to_tensors(obs.after)
        Q = sim.step(P, to_tensors(g))
        steps.append((obs.step, P, A, {k: Q[k] - P[k] for k in Q}))
    names = sorted(steps[0][3], key=canonical_key)
    for per, label in (("param", "parameter"), ("layer", "layer")):
        units = list(dict.fromkeys(n if per == "param" else n.lstrip("Wb") for n in names))
        for order in (units, units[::-1]):
            at = {u: i for i, u in enumerate(order)}
            if all(_takes(t, P, A, D, d, len(order), at, per, atol, rtol) for t, P, A, D in steps):
                return [_finding(codec, names, label, order, d, spec)]
    return []


def _takes(t, P, A, D, d, U, at, per, atol, rtol) -> bool:  # noqa: ANN001 - local helper
    for k, step in D.items():
        i = at[k if per == "param" else k.lstrip("Wb")]
        s = step / (1 + d * ((t - 1) * U + i))
        allowed = atol * max(float(s.abs().max()), 1e-300) + rtol * A[k].abs()
        if not bool(((A[k] - P[k] - s).abs() <= allowed).all()):
            return False
    return True


def _finding(codec: Codec, names: list, label: str, order: list, d: float, spec: Spec) -> Finding:
    U = len(order)
    shown = codec.labels(order) if label == "parameter" else [f"layer {u}" for u in order]
    return Finding(
        "lr_schedule",
        codec.labels(names),
        None,
        1,
        f"your steps are {spec.opt.name}'s with the declared lr_decay={d:g}, its step counter "
        f"advanced at each {label}'s update ({', '.join(shown)} in turn), not once per step: "
        f"the {label} updated i-th at step t takes lr / (1 + {d:g} ((t - 1) {U} + i)), i from 0, "
        f"so the decay runs {U} times as fast and differs from {label} to {label}",
        "advance the counter once per step, after every parameter's update (nnfs: call "
        "pre_update_params() and post_update_params() once around the loop over the layers, "
        "not for each layer)",
    )
