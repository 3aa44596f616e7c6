"""Tolerances: one table by dtype, and the rule that widens it over free-running steps.

An element passes when ``|actual - expected| <= atol * scale + rtol * |expected|`` where
``scale = max|expected|`` over the tensor (1 if the tensor is all zeros). The baseline
(rtol, atol) pairs are ``torch.testing.assert_close``'s defaults; atol is scaled to the tensor
because an absolute 1e-5 is most of a gradient of 1e-5 and nothing of a weight of 1e3
(CONVENTIONS.md section 6). In free-running mode step k allows k times the baseline:
round-off from k independent steps adds up at most linearly while the trajectory is stable;
the engine widens it further by the growth of the loss so far (max_j |L_j| / |L_1|), because a
diverging trajectory amplifies round-off as fast as it grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from nnparity.scratch.errors import SpecError


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def widened(self, factor: float) -> Tolerance:
        return self if factor == 1 else Tolerance(self.rtol * factor, self.atol * factor)


TOLERANCES: dict[str, Tolerance] = {
    "float32": Tolerance(rtol=1.3e-6, atol=1e-5),
    "float64": Tolerance(rtol=1e-7, atol=1e-7),
}


def check_tolerance(rtol: float, atol: float) -> None:
    """Raise ``SpecError`` unless both tolerances are finite numbers >= 0: a NaN tolerance makes
    every comparison ``diff <= NaN`` false and every ``diff / NaN`` NaN, which a max() can turn
    into a pass; an infinite or negative one passes or fails everything."""
    for name, v in (("rtol", rtol), ("atol", atol)):
        try:
            ok = math.isfinite(v) and v >= 0
        except TypeError:
            ok = False
        if not ok:
            raise SpecError(
                f"{name} must be a finite number >= 0, got {v!r}; give e.g. --rtol 1e-6 --atol 1e-6"
            )


def tolerance_for(
    dtype: str,
    step: int = 1,
    mode: str = "resync",
    rtol: float | None = None,
    atol: float | None = None,
) -> Tolerance:
    """The tolerance for ``dtype`` at ``step`` (1-based). Overrides come both or neither."""
    try:
        return _kept(dtype, step, mode, rtol, atol)
    except TypeError:  # an unhashable override: checked (and refused) below
        return _tolerance_for(dtype, step, mode, rtol, atol)


def _tolerance_for(
    dtype: str, step: int, mode: str, rtol: float | None, atol: float | None
) -> Tolerance:
    if (rtol is None) != (atol is None):
        raise SpecError("give rtol and atol together, or neither (as torch.testing.assert_close)")
    base = Tolerance(rtol, atol) if rtol is not None else TOLERANCES[dtype]
    check_tolerance(base.rtol, base.atol)
    return base.widened(step) if mode == "free" else base


_kept = lru_cache(maxsize=4096)(_tolerance_for)  # asked at every step; a refusal is not kept
