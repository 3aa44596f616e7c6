"""An optimizer whose state starts again now and then (review s42b F2: Adam rebuilt at each
epoch's end, ``on_epoch_end``, parted at step 101 as "no known adam variant"): each step is
the declared optimizer's either from the state the steps before it left, or from a fresh
state (the moments zeroed, its step count from 1 or kept; or the count alone from 1, the
moments kept: Adam's t = i + 1 inside the epoch loop); named where the first failing step is
a restart and every step compared is one or the other (review s44 F3, F4)."""

from __future__ import annotations

import copy

from .optim_sim import Sim
from .result import Finding


def state_restart(name: str, kw: dict, seq: list, steps: list[int], first: int, atol: float,
                  rtol: float, names: tuple[str, ...], whose: str) -> list[Finding]:  # fmt: skip
    """``optimizer_update_mismatch`` naming the restarts of the state of optimizer ``name``
    over ``seq`` ((P, G, A) per step ``steps``, from step 1), where ``first`` is one; else []."""
    if not steps or steps[0] != 1 or name == "sgd" and not kw.get("momentum"):
        return []
    sim, restarts, how = Sim(name, kw), [], ""
    for (P, G, A), t in zip(seq, steps, strict=True):
        on = copy.deepcopy(sim)
        if took(on.step(P, G), P, A, atol, rtol):
            sim = on
            continue
        for way in WAYS if name != "sgd" else WAYS[:1]:
            fresh = copy.deepcopy(sim) if way == "count" else Sim(name, kw)
            fresh.t = sim.t if way == "moments" or name == "sgd" else 0  # (a velocity: its
            # lr schedule runs on, review s47 F3)
            if took(fresh.step(P, G), P, A, atol, rtol):
                sim, how = fresh, way
                restarts.append(t)
                break
        else:
            return []  # a step neither goes on nor starts again: something else (s44 F4)
    if first not in restarts:  # (the watch stops at its first failing step: a one-off step
        return []  # that is a fresh optimizer's own first step reads as a restart there)
    every = {b - a for a, b in zip([1, *restarts], restarts, strict=False)}
    period = f" (every {every.pop()} steps)" if len(restarts) > 1 and len(every) == 1 else ""
    shown = ", ".join(map(str, restarts))
    state = "velocity" if name == "sgd" else "state"
    what = (
        "its velocity zeroed"
        if name == "sgd"
        else {
            "all": "its moments zeroed, its step count from 1 again",
            "moments": "its moments zeroed, its step count kept",
            "count": "its step count from 1 again, its moments kept (a t = i + 1 of the epoch "
            "loop)",
        }[how]
    )
    return [
        Finding(
            "optimizer_update_mismatch",
            names,
            None,
            first,
            f"from {whose}, your {name}'s {state} starts again at step"
            f"{'s' if len(restarts) > 1 else ''} {shown}{period}: there your step is the "
            f"declared {name}'s with {what}, where PyTorch's keeps the {state} of the steps "
            "before",
            "keep the optimizer's state from step to step: create the optimizer (or its "
            "moments) once, when training starts, not at each epoch or every few calls",
        )
    ]


WAYS = ("all", "moments", "count")  # what starts again: everything, the moments, the count


def took(Q: dict, P: dict, A: dict, atol: float, rtol: float) -> bool:
    """Whether the learner's post-step weights ``A`` are the simulated ``Q`` from ``P``: within
    atol of the step's size plus rtol of each weight."""
    for k, q in Q.items():
        allowed = atol * max(float((q - P[k]).abs().max()), 1e-300) + rtol * A[k].abs()
        if not bool(((A[k] - q).abs() <= allowed).all()):
            return False
    return True
