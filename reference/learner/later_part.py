"""A second optimizer departure that shows only after the first steps read: one part found
on the first failing steps that parts from the learner's later ones, joined by another whose
effect is below the resolution at first (review s45 F6: the nnfs book's Adam without
post_update_params: t frozen at 1 read at once, its lr decay of 5e-7 never applied read only
as "something else too")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .optim_catalog import VARIANTS
from .optim_fixes import EPS_IN_SQRT
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


def eps_inside_at(name: str, kw: dict[str, Any], found: list, seq: list, atol: float,
                  rtol: float) -> Callable[[str], tuple[str, str]] | None:  # fmt: skip
    """Where ``found`` is another eps alone (``eps_value``, read on the first failing steps)
    and ``name`` takes eps inside the square root as a library's form, the power of ten from
    1e-4 to 1e-12 at which that form takes every step of ``seq`` (review s49 F2: ML-From-
    Scratch's Adagrad, sqrt(G + 1e-8), was read as eps = 1.29e-7 outside the root, and
    declared so, still parted): (whose -> (evidence, fix)); else None."""
    if [key for key, _, _ in found] != ["eps_value"] or name not in EPS_IN_SQRT:
        return None
    declared = kw.get("eps", 1e-10 if name == "adagrad" else 1e-8)
    for k in range(4, 13):
        e = 10.0**-k
        if e != declared and _follows(Sim(name, {**kw, "eps": e}, "eps_inside"), seq, atol, rtol):
            return lambda whose: (
                f"from {whose}, your post-step weights follow {name} with eps = {e:g} inside "
                f"the square root, sqrt(s + eps), where eps = {declared:g} is declared",
                f"declare eps={e:g} (eps inside the root is a valid form, {EPS_IN_SQRT[name]}: a "
                "note once declared)",
            )
    return None
