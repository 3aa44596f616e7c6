"""An L2 coefficient said per layer (``l2=[5e-4, 0]``, nnfs's per-layer regularizers): what to
declare where some layers' gradients part by a penalty and the others agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conventions import coef_text, l2_on
from .result import Finding


def same(a: float, b: float, scale: float, near: float = 1e-6) -> bool:
    """a and b equal to ``near`` of ``scale``."""
    return abs(a - b) <= near * scale


def by_layer(key: str, role: str, group: list[str], own: float, declared: float | tuple,
              n: int) -> str | None:  # fmt: skip
    """``key=[c_1, ..., c_n]``: ``own`` on the layers of ``group``, the declared coefficient on
    the others (whose gradients agree); None where one number says it (every layer alike)."""
    at = {int(k.lstrip("Wb")) for k in group}
    vals = [own if l in at else l2_on(f"{role}{l}", declared, declared) for l in range(1, n + 1)]
    top_ = max(map(abs, vals))
    if all(same(v, vals[0], top_) for v in vals):
        return None
    return f"{key}=[{', '.join(f'{0.0 if same(v, 0.0, top_) else v:.6g}' for v in vals)}]"


def per_layer_weights(
    steps: list, codec: Any, failing: dict[str, int], ws: list[str], declared: Any, n: int,
    fit: Callable[..., float | None],
) -> Finding | None:  # fmt: skip
    """``regularization_mismatch`` where the failing weights carry an L2 term of their own
    coefficient per layer, lambda_l W_l (one layer's penalty where another's is declared:
    review s24d F7), said with the per-layer list that declares them; None where a layer's
    difference is no such term (``fit``: the regularization module's one-coefficient fit)."""
    lams = {k: fit(steps, [k]) for k in ws}
    if len(ws) < 2 or any(v is None for v in lams.values()):
        return None
    own = {int(k[1:]): l2_on(k, declared, declared) + lams[k] for k in ws}
    vals = [own.get(l, l2_on(f"W{l}", declared, declared)) for l in range(1, n + 1)]
    top_ = max(map(abs, vals)) or 1.0
    said = ", ".join(f"{0.0 if same(v, 0.0, top_) else v:.6g}" for v in vals)
    return Finding(
        "regularization_mismatch",
        codec.labels(ws),
        None,
        min(failing[k] for k in ws),
        f"your weight gradients carry L2 terms of their own per layer: coefficients [{said}] "
        f"(layers 1-{n}), where l2={coef_text(declared)} is declared",
        f"declare l2=[{said}] (one per layer) if that is your penalty, or give each layer the "
        "declared coefficient",
    )


def bias_text(own: float, lam_b: float, per: str) -> tuple[str, str]:
    """(evidence, fix) where some layers' biases alone part by a penalty: their coefficient
    ``own`` (the learner's: the declared plus ``lam_b``), the list ``per`` that declares it."""
    none = same(own, 0.0, abs(lam_b))
    return (
        f"these biases' L2 coefficient is {0.0 if none else own:.6g}, not the declared one "
        f"({per} declares it)",
        f"declare {per} (one per layer) if that is your penalty, or use one throughout",
    )
