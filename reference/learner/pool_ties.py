"""Max-pool's gradient where a window's maximum is tied: max has no single derivative there, and
any share of the window's gradient among its tied maxima (nonnegative parts summing to it) is
a subgradient as valid as PyTorch's (all of it to the first maximum, as np.argmax), just as
relu'(0) may be 0 or 1. A dx that differs from PyTorch's only so is a convention, not a bug;
sending the whole gradient to every tied maximum (ties counted k times) is none."""

from __future__ import annotations

import numpy as np

from .layer_cases import Case
from .layer_variants import _pool_route, _windows

Array = np.ndarray


def tie_routing(case: Case, dout: Array, dx: Array, atol: float) -> str | None:
    """How ``dx`` routes ties, where it is such a subgradient of max-pool at ``case``'s input
    (to ``atol``); None where it is not one. Windows that overlap are held to the two common
    forms (the last maximum, an equal split), windows apart to any valid share."""
    pp = case.layer_param or {}
    if dx.shape != case.x.shape or not pp:
        return None
    forms = {"to the last tied maximum": _pool_route("last")(case, dout)["dx"],
             "split equally among them": _split(case, dout)}  # fmt: skip
    for how, form in forms.items():
        if np.all(np.abs(dx - form) <= atol):
            return how
    if pp["stride"] < max(pp["pool_height"], pp["pool_width"]):
        return None  # a position in two windows: its parts cannot be told apart
    covered = np.zeros(dx.shape, bool)
    for i, j, (rs, cs) in _windows(case, dout.shape):
        win, d = case.x[:, :, rs, cs], dx[:, :, rs, cs]
        g = dout[:, :, i, j]
        top = win == win.max(axis=(2, 3), keepdims=True)
        if (
            np.any(np.abs(np.where(top, 0.0, d)) > atol)  # only the maxima take a share
            or np.any(np.abs(d.sum(axis=(2, 3)) - g) > atol)  # the shares sum to the gradient
            or np.any(d * g[:, :, None, None] < -atol * np.abs(g[:, :, None, None]))  # none < 0
        ):
            return None
        covered[:, :, rs, cs] = True
    if np.any(np.abs(dx[~covered]) > atol):
        return None
    return "shared among the tied maxima otherwise"


def _split(case: Case, dout: Array) -> Array:
    """dx with each window's gradient split equally among its tied maxima."""
    dx = np.zeros_like(case.x)
    for i, j, (rs, cs) in _windows(case, dout.shape):
        win = case.x[:, :, rs, cs]
        top = win == win.max(axis=(2, 3), keepdims=True)
        share = top / top.sum(axis=(2, 3), keepdims=True)
        dx[:, :, rs, cs] += dout[:, :, i, j][:, :, None, None] * share
    return dx
