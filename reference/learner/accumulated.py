"""A step that moves the weights at every k-th call only: gradient accumulation over k calls
(each call adds its gradient, divided by k or not, and every k-th applies the optimizer).
That trains correctly in a program whose loop means it, but the check compares one update per
call, so it read as ``step_did_not_update`` (review s25 E F7). Its signature: calls 1..k-1
leave every weight as it was, call k moves them by the declared optimizer's step from the
mean (or the sum) of PyTorch's gradients at the k calls' batches, and the next k calls do the
same from there (the optimizer's state carried): two whole cycles, so a momentum applied one
step late (a move at every call after the first) is not read as this."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .evidence import to_tensors
from .optim_variants import Sim

if TYPE_CHECKING:
    from nnparity.scratch import Spec

MAX_CALLS = 4


def accumulated(history: list, spec: Spec, atol: float, rtol: float) -> tuple[int, str] | None:
    """(k, 'mean' or 'sum') where the steps of ``history`` (obs, twin step, expected) are
    accumulation over k calls, else None."""
    obs = [h[0] for h in history]
    if any(o.after is None for o in obs):
        return None
    moved = [not all(np.array_equal(o.after[n], o.params[n]) for n in o.after) for o in obs]
    k = next((i + 1 for i, m in enumerate(moved) if m), None)
    if k is None or not 2 <= k <= MAX_CALLS or len(obs) < 2 * k:
        return None
    if moved[: 2 * k] != ([False] * (k - 1) + [True]) * 2:
        return None
    for how, scale in (("mean", 1.0 / k), ("sum", 1.0)):
        seq = []
        for c in range(2):
            calls = history[c * k : (c + 1) * k]
            G = {n: scale * sum(np.asarray(h[1].grads[n], float) for h in calls)
                 for n in obs[0].after}  # fmt: skip
            last = calls[-1][0]
            seq.append((to_tensors(last.params), to_tensors(G), to_tensors(last.after)))
        if _takes(Sim(spec.opt.name, dict(spec.opt.kwargs)), seq, atol, rtol):
            return k, how
    return None


def _takes(sim: Sim, seq: list, atol: float, rtol: float) -> bool:
    """Whether ``sim`` fed with each entry's gradients gives its post-step weights within
    atol of the step's largest move (over every parameter: a bias whose gradient is round-off
    moves by round-off) and rtol of the weights."""
    for P, G, A in seq:
        Q = sim.step(P, G)
        scale = max(float((Q[n] - P[n]).abs().max()) for n in Q)
        if scale == 0 or any(
            bool(((A[n] - Q[n]).abs() > atol * scale + rtol * A[n].abs()).any()) for n in Q
        ):
            return False
    return True


def refusal(k: int, how: str, opt: str) -> str:
    """The message of the check's refusal (a LearnerError: nothing is judged)."""
    said = "mean" if how == "mean" else f"sum (a step {k} times the mean's)"
    nth = {2: "second", 3: "third", 4: "fourth"}.get(k, f"{k}th")
    return (
        f"your step moves the weights at every {nth} call only, each time by the declared "
        f"{opt} step from the {said} of the {k} calls' gradients: gradient accumulation over "
        f"{k} calls. The check compares one update per call: hand it a step that calls yours "
        f"{k} times on each batch, step=lambda X, y: [your_step(X, y) for _ in range({k})], "
        "which takes one update from that batch's gradient"
        + ("" if how == "mean" else f" ({k} times it: divide the sum by {k}, or declare lr x {k})")
        + ", or check with the accumulation switched off"
    )
