"""An L2 decay in the learner's own plain-SGD update with another coefficient than declared:
the post-step weights are ``P - lr (G + k_W W)`` for the weights and ``P - lr (G + k_b b)``
for the biases, where ``G`` already holds the declared term (``l2 W``, in the gradients or
added for ``l2_in='update'``). k_W and k_b are each one least-squares number over the steps
examined; the reading is named when the simulated steps reproduce every post-step weight
(Nielsen's ``(1 - eta lmbda / n) w`` with n the mini-batch's size, the decay without eta, the
biases decayed too)."""

from __future__ import annotations

import math
from typing import Any

import torch

from .optim_variants import Sim, _excess

Tensor = torch.Tensor
SMALL = 1e-9  # |k| below this times the declared l2 (or 1e-12 absolute) is no extra decay


def explain_decay(
    seq: list, kw: dict[str, Any], l2: float, atol: float, rtol: float, rows: int
) -> tuple[str, str, list[str]] | None:
    """(evidence, fix, the canonical names it concerns) when an extra decay ``k_W`` of the
    weights and ``k_b`` of the biases reproduces the learner's plain-SGD steps ``seq`` ((P,
    G, A) per step), else None."""
    if kw.get("momentum") or kw.get("weight_decay") or not seq:
        return None
    lr = float(kw.get("lr", 1e-3))
    k = {"W": _fit(seq, lr, "W"), "b": _fit(seq, lr, "b")}
    floor = max(SMALL * l2, 1e-12)
    if all(v is None or abs(v) <= floor for v in k.values()):
        return None
    kW, kb = (k[r] if k[r] is not None and abs(k[r]) > floor else 0.0 for r in "Wb")
    sim = Sim("sgd", {**kw, "_kW": kW, "_kb": kb}, "decay_fit")
    if _excess(sim, seq, atol, rtol, stop=1.0) > 1.0:
        return None
    parts, fixes = [], []
    if kW:
        c = l2 + kW
        said = f"your update decays the weights by {c:.6g} (w -= lr (g + {c:.6g} w))"
        said += f", where l2 = {l2:g} is declared" if l2 else ", and no l2 is declared"
        if l2 and c > 0:
            r = c / l2
            said += f": {r:.6g} times the declared coefficient"
            if math.isclose(r, 1 / lr, rel_tol=1e-6):
                said += " (1 / lr: the decay w *= 1 - l2 misses the learning rate)"
            elif math.isclose(r, 2, rel_tol=1e-6):  # (review s59b F11: a batch-size guess)
                said += " (the penalty counted twice: in your gradients and again in your update)"
            elif r > 1 and math.isclose(r * rows, round(r * rows), rel_tol=1e-6):
                said += (
                    f" (if your decay divides lambda by n: n = {rows}, the mini-batch's rows, "
                    f"where the training set's {round(r * rows)} belong?)"
                )
        parts.append(said)
        fixes.append(
            f"decay by the declared l2 = {l2:g}: w *= 1 - lr * l2 (lambda / n with n the "
            "training set's size)"
            if l2
            else f"declare l2={c:.6g}, l2_in='update' if the decay is meant"
        )
    if kb:
        parts.append(
            f"your update decays the biases too, by {kb:.6g} (l2 applies to the weights only)"
        )
        fixes.append("leave the biases out of the decay")
    roles = ("W" if kW else "") + ("b" if kb else "")
    return "; ".join(parts), "; ".join(fixes), [n for n in seq[0][2] if n[0] in roles]


def _fit(seq: list, lr: float, role: str) -> float | None:
    """k over the parameters of ``role`` ("W" or "b"): (P - A) / lr - G = k P, least squares."""
    num = den = 0.0
    for P, G, A in seq:
        for n in A:
            if n[0] != role or n not in G or n not in P:
                continue
            d = (P[n] - A[n]) / lr - G[n]
            num += float((d * P[n]).sum())
            den += float((P[n] * P[n]).sum())
    return num / den if den > 0 and math.isfinite(num / den) else None
