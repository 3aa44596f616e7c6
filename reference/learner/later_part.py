"""A second optimizer departure that shows only after the first steps read: one part found
on the first failing steps that parts from the learner's later ones, joined by another whose
effect is below the resolution at first (review s45 F6: the nnfs book's Adam without
post_update_params: t frozen at 1 read at once, its lr decay of 5e-7 never applied read only
as "something else too")."""

from __future__ import annotations

from typing import Any

from .optim_catalog import VARIANTS
from .optim_variants import FITTED, Sim, _applies, _follows, _part


def with_later_part(
    name: str, kw: dict[str, Any], found: list, seq: list, atol: float, rtol: float
) -> list | None:
    """``found`` (one (key, label, fix)) and the first unfitted variant of ``name`` that with
    it takes every step of ``seq``; None where none does."""
    key = found[0][0]
    names = list(seq[0][2]) if seq else []
    for other, label in VARIANTS.get(name, []):
        if other == key or other in FITTED or not _applies(name, other, kw, names):
            continue
        if _follows(Sim(name, kw, (key, other)), seq, atol, rtol):
            return [*found, _part(name, kw, kw, other, label)]
    return None
