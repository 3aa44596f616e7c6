"""The update variant search's excess on a flat sequence (``optim_variants._flat``: each
step's parameters in one vector), computed on its NumPy views: the same arithmetic as torch's,
element by element (``optim_sim.Sim`` steps arrays as it steps tensors, bit for bit), without
torch's per-operation cost, which dominates on the small vectors a search simulates thousands
of times."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .optim_sim import Sim

Tensor = torch.Tensor


ELEMENTWISE = ("_clip", "eps")  # fitted values that enter the update only elementwise
AT_ONCE_LIMIT = 2**20  # elements in one simulation of many values (more: in chunks)


def _excess_at(
    sim: Sim, arg: str, values: list[float], seq: list, atol: float, rtol: float, seg: Tensor
) -> list[float]:
    """``_excess`` of ``sim`` with ``sim.kw[arg]`` at each of ``values``, a flat ``seq``
    (``_flat``) simulated for all of them at once: the elements repeated once per value, each
    copy with its own value (an eps or a clip bound as an element's own; a beta through the
    scalars it makes, each copy's computed as one value's, ``optim_sim.each``) and its own
    parameters' max |Q - P|. The same arithmetic, element by element, as one ``_excess`` per
    value; for a grid of small parameters, one simulation instead of hundreds."""
    n, parts = seg.numel(), int(seg[-1]) + 1
    per = max(AT_ONCE_LIMIT // max(n, 1), 1)
    if len(values) > per:
        cuts = (values[i : i + per] for i in range(0, len(values), per))
        return [e for cut in cuts for e in _excess_at(sim, arg, cut, seq, atol, rtol, seg)]
    k = len(values)
    dtype = seq[0][0]["_"].numpy().dtype
    own = (  # elementwise: each element's own; else a scalar per copy (``optim_sim.each``)
        np.repeat(np.array(values, dtype=dtype), n)
        if arg in ELEMENTWISE
        else np.array(values, dtype=np.float64)
    )
    many = Sim(sim.name, {**sim.kw, arg: own}, tuple(sim.v))
    many.copies = np.repeat(np.arange(k), n)
    runs = _runs(np.tile(np.bincount(seg.numpy(), minlength=parts), k))
    worst = np.zeros(k)
    with np.errstate(all="ignore"):
        for P, G, A in seq:
            P, G, A = ({"_": np.tile(d["_"].numpy(), k)} for d in (P, G, A))
            Q = many.step(P, G)["_"]
            e = (abs(A["_"] - Q) / _allowed(Q, P["_"], runs, atol, rtol)).reshape(k, n).max(1)
            worst = np.maximum(worst, np.where(np.isfinite(e), e, math.inf))
    return worst.tolist()


def _excess_flat(sim: Sim, seq: list, atol: float, rtol: float, seg: Tensor, stop: float) -> float:
    """``_excess`` of a flat ``seq`` (``_flat``), simulated on its NumPy views: the same
    arithmetic, element by element, without torch's per-operation cost on small tensors."""
    runs = _runs(np.bincount(seg.numpy()))
    worst = 0.0
    with np.errstate(all="ignore"):
        for P, G, A in seq:
            if worst > stop:
                return worst
            p, a = P["_"].numpy(), A["_"].numpy()
            q = sim.step({"_": p}, {"_": G["_"].numpy()})["_"]
            e = float((abs(a - q) / _allowed(q, p, runs, atol, rtol)).max()) if a.size else 0.0
            worst = max(worst, e if math.isfinite(e) else math.inf)
    return worst


def _runs(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first element, length) of each parameter's run of elements, from the elements each
    parameter has (those with none left out)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return starts[counts > 0], counts[counts > 0]


def _allowed(q: np.ndarray, p: np.ndarray, runs: tuple, atol: float, rtol: float) -> Any:
    """atol * max |q - p| over each element's parameter (its run of elements, ``_runs``) +
    rtol * |q|, in q's dtype (as torch computes it)."""
    starts, lengths = runs
    top = np.maximum.reduceat(abs(q - p), starts)
    top = np.maximum(top, np.asarray(1e-300, dtype=top.dtype))  # (0 in float32, as torch's)
    return atol * np.repeat(top, lengths) + rtol * abs(q)
