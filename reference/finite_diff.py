"""Central finite differences in float64: the third opinion when scratch and torch disagree on
a gradient. dL/dp_i ~ (L(p + h e_i) - L(p - h e_i)) / 2h, h = 1e-6 max(1, |p_i|).

Each side's gradient is judged against differences taken at that side's own weights: in free
mode the two trajectories have parted after a wrong update, and a gradient is only right or
wrong at the weights it was computed at."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnparity.scratch import Network, Spec, build

Array = np.ndarray
MAX_FD_PARAMS = 5000  # above this, finite differences cost too much to run by default


def fd_grads(
    spec: Spec,
    params: dict[str, Array],
    X: Array,
    y: Array,
    names: list[str] | None = None,
    masks: dict[str, Array] | None = None,
) -> dict[str, Array]:
    """Finite-difference gradients of the spec's loss, evaluated by scratch's own forward pass
    in float64 (whatever network is under test: a third opinion on the true gradient), for
    ``names``. A layered spec's loss is the training-mode one (batch statistics) with each
    dropout layer's fixed mask from ``masks`` (``{'mask4': 0/1 array}``, as the step drew)."""
    net64 = build(spec.replace(dtype="float64"))
    if spec.layered:
        fixed = {n: np.asarray(m) for n, m in (masks or {}).items()}
        net64 = _Fixed(net64, fixed)
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    X64 = X.astype(np.float64)
    y64 = y if y.dtype.kind == "i" else y.astype(np.float64)
    with np.errstate(all="ignore"):
        return _fd(net64, p64, X64, y64, names or list(p64))


class _Fixed:
    """A layered network whose loss applies fixed dropout masks (training mode)."""

    def __init__(self, net: Network, masks: dict[str, Array]):
        self.net, self.masks = net, masks

    def loss(self, params: dict, X: Array, y: Array) -> float:
        return self.net.loss(params, X, y, mode="train", masks=self.masks)


def _fd(net64: Network, p64: dict, X64: Array, y64: Array, names: list[str]) -> dict[str, Array]:
    out = {}
    for name in names:
        p = p64[name]
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            h = 1e-6 * max(1.0, abs(old))
            p[i] = old + h
            up = net64.loss(p64, X64, y64)
            p[i] = old - h
            down = net64.loss(p64, X64, y64)
            p[i] = old
            g[i] = (up - down) / (2 * h)
        out[name] = g
    return out


@dataclass(frozen=True)
class Opinion:
    """Which side finite differences agree with, for one gradient tensor."""

    step: int
    tensor: str
    scratch_error: float  # max |scratch - fd| / the largest of the three
    torch_error: float
    verdict: str  # scratch is wrong | torch is wrong | both are off | both agree with fd |
    # cannot judge (non-finite values)

    def __str__(self) -> str:
        if not np.isfinite(self.scratch_error):
            return f"finite differences at step {self.step} / {self.tensor}: {self.verdict}"
        return (
            f"finite differences at step {self.step} / {self.tensor}: {self.verdict} "
            f"(scratch off by {self.scratch_error:.3g}, torch by {self.torch_error:.3g}, "
            "relative to the largest gradient)"
        )


def opinion(
    step: int, tensor: str, scratch: Array, torch_: Array, fd: Array, fd_torch: Array | None = None
) -> Opinion:
    """Which side agrees with ``fd`` (differences at scratch's weights; ``fd_torch`` at the
    twin's, when they differ)."""
    fd_torch = fd if fd_torch is None else fd_torch
    arrays = [np.asarray(a, dtype=np.float64) for a in (scratch, torch_, fd, fd_torch)]
    if not all(np.isfinite(a).all() for a in arrays):
        return Opinion(step, tensor, np.nan, np.nan, "cannot judge (non-finite values)")
    scratch, torch_, fd, fd_torch = arrays
    scale = max(*(float(np.abs(a).max(initial=0.0)) for a in arrays), 1e-300)
    es = float(np.abs(scratch - fd).max(initial=0.0)) / scale
    et = float(np.abs(torch_ - fd_torch).max(initial=0.0)) / scale
    ok = 1e-4  # FD's own error is ~1e-9 relative for smooth losses; kinks can add more
    if es <= ok and et <= ok:
        verdict = "both agree with fd"
    elif es > ok and et <= ok:
        verdict = "scratch is wrong"
    elif et > ok and es <= ok:
        verdict = "torch is wrong"
    else:
        verdict = "both are off"
    return Opinion(step, tensor, es, et, verdict)
