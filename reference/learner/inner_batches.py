"""A step that runs several updates on the batch it is handed: an epoch's loop of mini-batches
inside the function given as ``step`` (review s18a: four in-order batches of 16 on the 64 rows
handed, no batch size declared, read as one unexplained update of c = 3.5). Where the step
shows no gradient and PyTorch's one step does not take it, the declared optimizer is run on
the handed rows in consecutive chunks of B rows (the last one shorter), for each B that
splits them into 2 to ``MOST`` chunks, PyTorch's gradients taken at each chunk's own weights;
a B that takes every one of the first steps names it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .codec import canonical_key
from .evidence import to_tensors
from .optim_variants import Sim
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference

MOST = 32  # chunks per step at most
STEPS = 2  # the first steps a reading must take


def explain_inner_batches(
    seen: list, ref: Reference, X: Any, y: Any, codec: Codec, first: int, atol: float,
    rtol: float,
) -> list[Finding]:  # fmt: skip
    """``own_batches`` where the declared optimizer run on consecutive chunks of B rows of
    each handed batch reproduces the learner's post-step weights at its first ``STEPS`` steps
    (``seen``: (obs, twin step, expected) from step 1); else []."""
    obs = [o for o, _, _ in seen[:STEPS]]
    if len(obs) < STEPS or obs[0].step != 1 or any(o.after is None for o in obs):
        return []
    n = min(len(o.rows) for o in obs)
    sizes = sorted({math.ceil(n / k) for k in range(2, min(n, MOST) + 1)}, reverse=True)
    for b in sizes:
        if b < n and _takes(obs, b, ref, X, y, atol, rtol):
            names = codec.labels(sorted(obs[0].after, key=canonical_key))
            return [_finding(names, first, n, b, math.ceil(n / b), ref.spec.opt.name)]
    return []


def _takes(obs: list, b: int, ref: Reference, X: Any, y: Any, atol: float, rtol: float) -> bool:
    spec = ref.spec
    sim = Sim(spec.opt.name, dict(spec.opt.kwargs))
    for o in obs:
        P = {k: np.asarray(v) for k, v in o.params.items()}
        before = to_tensors(P)
        for s in range(0, len(o.rows), b):
            rows = o.rows[s : s + b]
            G = to_tensors(ref.run(P, X[rows], y[rows]).grads)
            Q = sim.step(to_tensors(P), G)
            P = {**P, **{k: v.numpy() for k, v in Q.items()}}
        A = to_tensors(o.after)
        for k, q in to_tensors(P).items():
            if k not in A:
                continue
            moved = max(float((q - before[k]).abs().max()), 1e-300)
            allowed = atol * moved + rtol * q.abs()
            if not bool(((A[k] - q).abs() <= allowed).all()):
                return False
    return True


def _finding(names: tuple, first: int, n: int, b: int, k: int, opt: str) -> Finding:
    return Finding(
        "own_batches",
        names,
        None,
        first,
        f"each call of your step takes {k} {opt} updates, on its {n} rows in consecutive "
        f"batches of {b} (the last {n - (k - 1) * b}), where the check hands it one batch to "
        "take one step on: your post-step weights are PyTorch's after those updates",
        f"declare batch_size={b} and have the step take one update on the batch it is "
        "handed (move the loop over the batches out of it), or pass a function that does so",
    )
