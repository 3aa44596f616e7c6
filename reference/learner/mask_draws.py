"""Whether dropout masks look drawn as PyTorch draws them: each element kept independently with
probability keep. Two tests, each an upper bound on the chance that correct draws fail it:

- the kept fraction: over n elements the count kept is Binomial(n, keep), so a fraction more
  than ``SIGMAS`` standard deviations from keep (sqrt(keep (1 - keep) / n)) happens by chance
  with probability below 2e-9 (``np.random.randn(*x.shape) < keep`` keeps Phi(keep): 76% for
  keep = 0.7, 28 standard deviations off at 50,000 elements);
- a mask constant along an axis (every sample given the same mask, or whole samples dropped):
  independent draws agree along an axis of length L at one position with probability
  keep^L + (1 - keep)^L, so at all M positions with that probability to the power M, said only
  below ``COINCIDENCE``.

Both are pure functions of the mask(s) and keep; ``Draws`` adds the evidence of several steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray
SIGMAS = 6.0
COINCIDENCE = 1e-9


def fraction_off(kept: int, n: int, keep: float) -> bool:
    """Whether ``kept`` of ``n`` independent draws is too far from ``keep`` to be chance."""
    if n == 0 or not 0.0 < keep < 1.0:
        return False
    return abs(kept / n - keep) > SIGMAS * np.sqrt(keep * (1 - keep) / n)


def constant_log_p(mask: Array, keep: float) -> dict[int, float]:
    """For each axis of length > 1 along which ``mask`` is constant: the log-probability that
    independent draws are (the axes where it varies are left out)."""
    out = {}
    if not 0.0 < keep < 1.0:
        return out
    for ax, length in enumerate(mask.shape):
        if length > 1 and (mask == mask.take([0], axis=ax)).all():
            positions = mask.size // length
            out[ax] = positions * float(np.log(keep**length + (1 - keep) ** length))
    return out


AXES = {0: "every sample (row) gets the same mask", 1: "whole samples are dropped or kept"}


def axis_text(ax: int, ndim: int) -> str:
    if ndim == 2 or ax == 0:
        return AXES[ax] if ax in AXES else f"the mask is the same along axis {ax}"
    return (
        f"the mask is the same along axis {ax} (of {ndim}): whole "
        f"{'channels' if ax == 1 else 'rows or columns of a map'} share one draw"
    )


@dataclass
class Draws:
    """The evidence of one dropout layer's masks over the steps seen so far."""

    keep: float
    kept: int = 0
    n: int = 0
    constant: dict[int, float] | None = None  # axis -> summed log-probability; None at start
    ndim: int = 2

    def add(self, mask: Array, known: Array | None = None) -> None:
        """One step's mask (bool); ``known`` where its entries are determined (None: all)."""
        m = mask if known is None else mask[known]
        self.kept += int(np.count_nonzero(m))
        self.n += int(m.size)
        self.ndim = mask.ndim
        logs = constant_log_p(mask, self.keep) if known is None or known.all() else {}
        if self.constant is None:
            self.constant = logs
        else:
            self.constant = {a: v + logs[a] for a, v in self.constant.items() if a in logs}

    def shared_axis(self) -> int | None:
        """An axis every mask so far is constant along, beyond chance."""
        for ax, log_p in (self.constant or {}).items():
            if log_p < np.log(COINCIDENCE):
                return ax
        return None

    def fraction_off(self) -> bool:
        return fraction_off(self.kept, self.n, self.keep)

    def fraction(self) -> float:
        return self.kept / max(self.n, 1)
