"""A step that runs several updates on the batch it is handed: an epoch's loop of mini-batches
inside the function given as ``step`` (review s18a: four in-order batches of 16 on the 64 rows
handed, no batch size declared, read as one unexplained update of c = 3.5). Where the step
shows no gradient and PyTorch's one step does not take it, the declared optimizer is run on
the handed rows in consecutive chunks of B rows (the last one shorter), for each B that
splits them into 2 to ``MOST`` chunks, PyTorch's gradients taken at each chunk's own weights;
a B that takes every one of the first steps names it.

A step that runs a whole training loop (``train(X, y)`` with its epochs inside, handed as the
step) is read the same way over passes: E passes over the rows, whole or in chunks of B, on
scratch's network (``numpy_train._Run``, held to PyTorch's step 1 first), E up to
``MOST_UPDATES`` updates on the whole batch, ``MOST_CHUNKED`` in chunks; the optimizer's
state carried from call to call or made anew at each (an optimizer built inside the loop's
function). A step whose post-step weights are the same at its first two steps from other
weights (an init inside ``fit``) is said to remake them."""

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
MOST_UPDATES = 2000  # updates per call a loop reading simulates on the whole batch
MOST_CHUNKED = 200  # and in chunks, per chunk size (a shuffled loop is nondeterministic)


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
    names = codec.labels(sorted(obs[0].after, key=canonical_key))
    sizes = sorted({math.ceil(n / k) for k in range(2, min(n, MOST) + 1)}, reverse=True)
    for b in sizes:
        for scale in (1.0, b / n):  # b / n: the update inside the loop over the batch's rows,
            if b < n and _takes(obs, b, ref, X, y, atol, rtol, scale):  # at eta / len(batch)
                k = math.ceil(n / b)  # (Nielsen's: review s45 F7)
                return [_finding(names, first, n, b, k, ref.spec.opt.name, scale)]
    loop = _loop(obs, ref, X, y, n, [n, *sizes], atol, rtol)
    if loop:  # (first: a loop run to its fixed point also ends where it ended before)
        return [_loop_finding(names, first, n, *loop, ref.spec.opt.name)]
    return [_remade_finding(names, first)] if _remade(obs, atol, rtol) else []


def _remade(obs: list, atol: float, rtol: float) -> bool:
    """The same rows at the first two steps (in any order), other weights before them, the
    same after, and step 2 moved them (a loop that stops early, its loss below a bound, moves
    nothing at step 2: review s30c F8)."""
    a, b = obs[0], obs[1]
    if len(a.rows) != len(b.rows) or not np.array_equal(np.sort(a.rows), np.sort(b.rows)):
        return False
    moved = any(not np.array_equal(a.params[k], b.params[k]) for k in a.params)
    moved = moved and any(not np.array_equal(b.params[k], b.after[k]) for k in b.after)
    same = all(
        np.allclose(a.after[k], b.after[k], rtol=rtol, atol=0.0) for k in a.after if k in b.after
    )
    return moved and same


def _loop(
    obs: list, ref: Reference, X: Any, y: Any, n: int, sizes: list[int], atol: float,
    rtol: float,
) -> tuple[int, int, bool] | None:  # fmt: skip
    """(B, E, fresh): E passes over each handed batch in chunks of B rows (B = n: whole)
    that take the first steps, E > 1 for B = n; ``fresh``: the optimizer made anew a call."""
    from .numpy_train import _Run

    P0 = {k: np.asarray(v) for k, v in obs[0].params.items()}
    try:
        run = _Run(ref, ref.spec, P0, set(ref.frozen))
        rows = obs[0].rows
        first = [(X[rows[:b]], y[rows[:b]]) for b in sizes[:1]]
        if not run.agrees(P0, first, run.data(*first[0])):
            return None
    except Exception:  # noqa: BLE001 - what scratch does not hold is not read
        return None
    for b in sizes:
        k = math.ceil(n / b)
        chunks = _chunked(run, X, y, obs[0].rows[:n], b)
        state = run.net.opt.init({m: P0[m] for m in run.moving})
        P, passes = dict(run.P0), 0
        with np.errstate(all="ignore"):
            while passes * k < (MOST_UPDATES if b == n else MOST_CHUNKED):
                for c in chunks:
                    _, P, state = run.step(P, state, *c)
                passes += 1
                if passes > (b == n) and _near(P, P0, obs[0].after, atol, rtol):
                    break
            else:
                continue
        for fresh in (False, True):
            if _again(run, obs[1], X, y, b, passes, None if fresh else state, atol, rtol):
                return b, passes, fresh
    return None


def _again(
    run: Any, o: Any, X: Any, y: Any, b: int, passes: int, state: Any, atol: float,
    rtol: float,
) -> bool:  # fmt: skip
    """Whether ``passes`` passes in chunks of ``b`` from ``o``'s weights take its step."""
    P0 = {k: np.asarray(v, run.dtype) for k, v in o.params.items() if k in run.P0}
    P = {**run.P0, **P0}
    if state is None:
        state = run.net.opt.init({m: P[m] for m in run.moving})
    chunks = _chunked(run, X, y, o.rows, b)
    with np.errstate(all="ignore"):
        for _ in range(passes):
            for c in chunks:
                _, P, state = run.step(P, state, *c)
    return _near(P, P0, o.after, atol, rtol)


def _chunked(run: Any, X: Any, y: Any, rows: Any, b: int) -> list:
    """``rows`` in consecutive chunks of ``b`` (the last one shorter), as ``run``'s data."""
    return [run.data(X[rows[s : s + b]], y[rows[s : s + b]]) for s in range(0, len(rows), b)]


def _near(P: dict, P0: dict, after: dict, atol: float, rtol: float) -> bool:
    """Each learner's post-step weight within tolerance of ``P``'s, scaled by the move."""
    for k, q in P.items():
        if k not in after:
            continue
        moved = max(float(np.abs(q - P0[k]).max(initial=0.0)), 1e-300)
        if not (
            np.abs(np.asarray(after[k], np.float64) - q) <= atol * moved + rtol * np.abs(q)
        ).all():
            return False
    return True


def _takes(obs: list, b: int, ref: Reference, X: Any, y: Any, atol: float, rtol: float,
           scale: float = 1.0) -> bool:  # fmt: skip
    spec = ref.spec
    sim = Sim(spec.opt.name, dict(spec.opt.kwargs))
    for o in obs:
        P = {k: np.asarray(v) for k, v in o.params.items()}
        before = to_tensors(P)
        for s in range(0, len(o.rows), b):
            rows = o.rows[s : s + b]
            G = {k: g * scale for k, g in to_tensors(ref.run(P, X[rows], y[rows]).grads).items()}
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


def _loop_finding(
    names: tuple, first: int, n: int, b: int, passes: int, fresh: bool, opt: str
) -> Finding:
    k = math.ceil(n / b)
    how = (
        "as one batch" if b == n else f"in consecutive batches of {b} (the last {n - (k - 1) * b})"
    )
    state = " (its state made anew at each call)" if fresh and opt != "sgd" else ""
    return Finding(
        "own_loop",
        names,
        None,
        first,
        f"each call of your step runs a training loop: {passes} passes over its {n} rows "
        f"{how}, {passes * k} {opt} updates{state}, where the check hands it one batch to take "
        "one step on: your post-step weights are PyTorch's after those updates",
        "hand the check a function that takes one update on the batch it is handed (the body "
        "of your loop, not the loop: e.g. the code inside `for epoch in range(epochs)`), or "
        "show your gradients (from_gradients) and keep your loop for training",
    )


def _remade_finding(names: tuple, first: int) -> Finding:
    return Finding(
        "weights_remade",
        names,
        None,
        first,
        "your step ends at the same weights at its first two steps on the same rows, from "
        "other weights before them: it does not start from the weights it is handed but "
        "makes its own (an initialisation inside the function given as the step, as a `fit` "
        "that builds its network anew)",
        "create the weights once, outside the step (in __init__), and have the step update "
        "the weights it holds; hand the check a function that takes one update",
    )


def _finding(names: tuple, first: int, n: int, b: int, k: int, opt: str,
             scale: float = 1.0) -> Finding:  # fmt: skip
    if scale != 1.0:  # each row's own update, at the lr over the batch's rows
        return Finding(
            "own_batches",
            names,
            None,
            first,
            f"each call of your step takes {k} {opt} updates, one per batch of {b} of its {n} "
            f"rows in turn, each at the declared lr times {b}/{n} (eta / len(mini_batch)): "
            "the update sits inside the loop over the batch's rows, where one update after "
            "the loop, from the gradients summed over all of them, belongs; your post-step "
            "weights are PyTorch's after those updates",
            "move the update out of the loop over the batch's rows: sum (or average) the "
            "rows' gradients first, then update once",
        )
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
