"""Probes and rows of the conventions table: what to run, what was measured, and the comparison."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

ULPS = 16  # round-off allowance, in float64 ulps of the values' magnitude
EPS64 = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Probe:
    """``torch()`` and ``jax()`` measure each framework's default; ``setting`` names what makes
    them agree, and ``torch_set`` / ``jax_set`` measure it (either defaults to the plain
    measurement). ``rel_tol`` > 0 marks a sampled statistic: the relative tolerance."""

    what: str
    torch: Callable[[], Any]
    jax: Callable[[], Any]
    setting: str | None = None
    torch_set: Callable[[], Any] | None = None
    jax_set: Callable[[], Any] | None = None
    rel_tol: float = 0.0


@dataclass(frozen=True)
class Row:
    what: str
    torch: Any
    jax: Any
    difference: float  # max |torch - jax| (nan: not numbers, e.g. dtypes that differ)
    differs: bool
    setting: str | None  # the setting tried
    residual: float | None  # the difference under that setting
    agree_with: str | None  # the setting, only when the residual vanished

    def shown(self) -> tuple[Any, Any]:
        """(torch, jax) for display: the values themselves when there are at most three,
        else the pair where they differ most, with its index: "v [i of n]"."""
        return _shown(self.torch, self.jax)

    def as_dict(self) -> dict[str, Any]:
        t, j = self.shown()
        return {
            "what": self.what,
            "torch": t,
            "jax": j,
            "difference": self.difference,
            "differs": self.differs,
            "setting_tried": self.setting,
            "difference_with_setting": self.residual,
            "agree_with": self.agree_with,
        }


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [float(x) for x in v.reshape(-1)] if v.size > 1 else float(v.reshape(-1)[0])
    return v


def _shown(t: Any, j: Any) -> tuple[Any, Any]:
    if not isinstance(t, np.ndarray) or t.size <= 3 or np.shape(j) != t.shape:
        return _plain(t), _plain(j)
    d = np.abs(t.astype(np.float64) - np.asarray(j, dtype=np.float64)).reshape(-1)
    i = int(np.nanargmax(d)) if np.isfinite(d).any() else 0
    at = f" [{i} of {t.size}]"
    return f"{float(t.reshape(-1)[i]):.10g}{at}", f"{float(np.asarray(j).reshape(-1)[i]):.10g}{at}"


def _compare(a: Any, b: Any, rel_tol: float) -> tuple[float, bool]:
    """(max |a - b|, whether they differ beyond round-off or the sampling tolerance)."""
    if isinstance(a, str) or isinstance(b, str):
        return (0.0, False) if a == b else (math.nan, True)
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a64.shape != b64.shape:
        return math.nan, True
    d = float(np.max(np.abs(a64 - b64))) if a64.size else 0.0
    mag = max(float(np.max(np.abs(a64), initial=0.0)), float(np.max(np.abs(b64), initial=0.0)))
    if rel_tol:
        return d, d > rel_tol * mag
    return d, d > ULPS * EPS64 * max(mag, EPS64)


def measure(probe: Probe) -> Row:
    """Run one probe: both defaults, then the setting (if any)."""
    t, j = probe.torch(), probe.jax()
    d, differs = _compare(t, j, probe.rel_tol)
    residual, agree = None, None
    if probe.setting is not None:
        ts = probe.torch_set() if probe.torch_set else t
        js = probe.jax_set() if probe.jax_set else j
        residual, still = _compare(ts, js, probe.rel_tol)
        agree = None if still else probe.setting
    return Row(probe.what, t, j, d, differs, probe.setting, residual, agree)
