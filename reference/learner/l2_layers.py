"""An L2 coefficient said per layer (``l2=[5e-4, 0]``, nnfs's per-layer regularizers): what to
declare where some layers' gradients part by a penalty and the others agree."""

from __future__ import annotations

from .conventions import l2_on


def _same(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-6 * max(scale, 1e-300)


def by_layer(key: str, role: str, group: list[str], own: float, declared: float | tuple,
              n: int) -> str | None:  # fmt: skip
    """``key=[c_1, ..., c_n]``: ``own`` on the layers of ``group``, the declared coefficient on
    the others (whose gradients agree); None where one number says it (every layer alike)."""
    at = {int(k.lstrip("Wb")) for k in group}
    vals = [own if l in at else l2_on(f"{role}{l}", declared, declared) for l in range(1, n + 1)]
    top_ = max(map(abs, vals))
    if all(_same(v, vals[0], top_) for v in vals):
        return None
    return f"{key}=[{', '.join(f'{0.0 if _same(v, 0.0, top_) else v:.6g}' for v in vals)}]"
