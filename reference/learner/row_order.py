"""The same batch in another row order: a probe for data kept from an earlier call.

When the data is one batch, every step would hand the learner the same rows in the same
order, and code that keeps data from an earlier call (an input or im2col saved on the first
call only, a stored ``self.X`` that the adapter does not set) would agree with PyTorch while
being wrong on any other batch. So every second step hands the batch in another row order,
each row moved up one place (the first goes last: a reversal would hand a palindromic y, as
XOR's 0 1 1 0, back in the same order): a mean or sum over samples does not depend on their
order, so correct code gives the same gradients (PyTorch is run on the same rows), and the
output follows the rows.

Two readings of a step whose rows came in the other order:
- the output did not follow the rows but everything else agrees: the learner's functions keep
  their own data (they ignore the X they are given). With one batch that changes nothing, so
  it is a note of what was not checked, and the output is compared in the learner's order;
- the gradients part, and they are PyTorch's for X as it came at step 1 with this step's y,
  or for this step's X with step 1's y: ``stale_input``, either way said (also between
  batches of one size); a layer's input cached at step 1 alone is a weight-gradient form of
  the hypothesis search (candidates.py, ``a_first``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .result import Finding

Array = np.ndarray


def batches_of(n: int, bs: int, steps: int) -> tuple[list[Array], list[Finding]]:
    """The row indices of each batch of ``bs`` rows, in order, but for a short last batch that
    the ``steps`` compared would not reach: it comes second, with a note (a 1/N taken from the
    full batch size shows only there)."""
    batches = [np.arange(i, min(i + bs, n)) for i in range(0, n, bs)]
    if len(batches) <= max(steps, 2) or len(batches[-1]) == bs:
        return batches, []
    batches = [batches[0], batches[-1], *batches[1:-1]]
    said = Finding(
        "short_batch_compared",
        (),
        None,
        2,
        f"your last batch has {len(batches[1])} row{'s' * (len(batches[1]) > 1)} (the others "
        f"{bs}): it is compared at step 2, "
        f"before the other {len(batches) - 2} batches, which {steps} steps would not reach",
        "nothing to do: a 1/N taken from the full batch size shows there",
        "note",
    )
    return batches, [said]


PASS = 1000  # the most steps the watch extends to, to hand every batch once


def one_pass(
    batches: list[Array], steps: int, watch: int
) -> tuple[list[Array], int, list[Finding]]:
    """The watch (the steps run while everything agrees: ``watch`` in all, the ``steps``
    compared among them) extended to one pass over every batch, up to ``PASS`` steps; where
    a pass is longer, the batches after the compared ones spread evenly over the data (data
    stored class by class still shows every class), with what was never handed as a note."""
    if not watch:
        return batches, watch, []
    watch = max(watch, min(len(batches), PASS))
    if len(batches) <= max(steps, watch):
        return batches, watch, []
    head, rest = batches[:steps], batches[steps:]
    picks = np.linspace(0, len(rest) - 1, watch - steps).round().astype(int)
    chosen = set(picks.tolist())
    batches = head + [rest[i] for i in picks] + [b for i, b in enumerate(rest) if i not in chosen]
    left = len(batches) - watch
    said = Finding(
        "rows_not_handed",
        (),
        None,
        None,
        f"{left} of your {len(batches)} batches: the check ran {watch} steps, the batches "
        "after the first compared ones spread over your data, and handed these to your code "
        f"at no step; it ran less than one pass over them, so what your program does once a "
        f"pass of {len(batches)} steps ends (a learning rate or an optimizer set anew at each "
        "epoch) ran at no step either",
        f"check with a larger watch= (or --watch {len(batches) + steps}, a pass and its first "
        "steps again) to hand them too; a longer check may need a larger --timeout (or "
        "--timeout 0, none)",
        "note",
    )
    return batches, watch, [said]


def rows_at(batches: list[Array], k: int) -> Array:
    """The rows of step ``k``: the batches in order, cycling; one batch of two rows or more
    comes with each row moved up one place (the first last) at every even step."""
    rows = batches[(k - 1) % len(batches)]
    if len(batches) == 1 and len(rows) > 1 and k % 2 == 0:
        return np.roll(rows, -1)
    return rows


def in_rows(out: Array, rows: Array, first: Array) -> Array:
    """``out``, one row per row of ``first`` (step 1's order), put in the order of ``rows``
    (the same rows in another order)."""
    at = {int(r): i for i, r in enumerate(first)}
    return out[[at[int(r)] for r in rows]]


def reordered(rows: Array, first: Array) -> bool:
    """The step's rows are step 1's in another order."""
    return other_rows(rows, first) and np.array_equal(np.sort(rows), np.sort(first))


def other_rows(rows: Array, first: Array) -> bool:
    """The step has as many rows as step 1, not the same in the same order."""
    return len(rows) == len(first) and not np.array_equal(rows, first)


def ignores_rows(out: Array | None, twin_out: Array, rows: Array, first: Array, rtol: float,
                 atol: float) -> bool:  # fmt: skip
    """The learner's output kept step 1's order: put in the order of ``rows`` it is the
    twin's, and as it came it is not."""
    if out is None or out.shape != twin_out.shape or len(out) < 2:
        return False
    moved = in_rows(out, rows, first)
    if np.array_equal(moved, out):  # the order changes nothing here
        return False
    scale = max(1.0, float(np.abs(twin_out).max(initial=0.0)))
    close = lambda a, b: bool(np.allclose(a, b, rtol=rtol, atol=atol * scale))  # noqa: E731
    return close(moved, twin_out) and not close(out, twin_out)


def ignores_rows_note(step: int) -> Finding:
    return Finding(
        "ignores_rows",
        (),
        None,
        step,
        f"whether your code uses the data it is handed: at step {step} the batch came with its "
        "rows in another order and your output kept the order of step 1 (your forward computes "
        "on data it keeps, a stored X or an input saved on the first call, not on the X it is "
        "given); on this one batch your training is unaffected, but predictions on other "
        "data (a test set) and any other batch would be the first's",
        "compute the forward pass from the X each call is given (set self.X from the "
        "adapter's arguments, and cache inputs on every call, not only the first)",
        "note",
    )


def explain_stale(history: list, ref: Any, X: Array, y: Array, codec: Any, first: int,
                  atol: float, rtol: float) -> list[Finding]:  # fmt: skip
    """``stale_input`` at step ``first`` (whose rows are not step 1's, or not in its order):
    the learner's gradients are PyTorch's for step 1's X with this step's y, or for this
    step's X with step 1's y."""
    obs, _, _ = history[first - 1]
    rows1, rows = history[0][0].rows, obs.rows
    if obs.grads is None or not other_rows(rows, rows1):
        return []
    runs = {
        "X": lambda: ref.run(obs.params, X[rows1], y[rows]).grads,
        "y": lambda: ref.run(obs.params, X[rows], y[rows1]).grads,
    }
    labels = codec.labels(list(obs.grads))
    return _stale(runs, obs.grads, labels, first, rtol, atol, reordered(rows, rows1))


def stale_layered(ref: Any, P: dict, B: dict, X: Array, y: Array, rows1: Array, rows: Array,
                  masks: dict, G: dict, bad: list, labels: dict[str, str],
                  dtype: str) -> list[Finding]:  # fmt: skip
    """``stale_input`` for the failing records ``bad`` of a layered step whose ``rows`` are
    not step 1's (``rows1``), or not in its order (``y``: the twin's targets)."""
    runs = {
        "X": lambda: ref.run(P, B, X[rows1], y[rows], masks).grads,
        "y": lambda: ref.run(P, B, X[rows], y[rows1], masks).grads,
    }
    if ref.index.get(1) == 0 and ref.kind[1] in ("conv", "dense"):  # layer 1's input, cached
        from .layered_updated import StaleInputW

        x1 = ref.tensors(X[rows1], y[rows1])[0]
        runs["W"] = lambda: (
            ref.run(
                P, B, X[rows], y[rows], masks, replace={0: StaleInputW(ref.twin.module[0], x1)}
            ).grads
        )
    names = list(dict.fromkeys(labels[r.tensor] for r in bad if r.tensor in labels))
    tol = 1e-3 if dtype != "float64" else 1e-6
    return _stale(runs, G, names, bad[0].step, tol, tol, reordered(rows, rows1))


def _stale(runs: dict, G: dict, names: list[str], k: int, rtol: float, atol: float,
           reorder: bool) -> list[Finding]:  # fmt: skip
    """``stale_input`` when every gradient in ``G`` is one mispaired run's (``runs``: which
    of X and y is kept from step 1 -> its gradients)."""
    for kept, run in runs.items():
        alt = run()
        scale = max((float(np.abs(v).max(initial=0.0)) for v in alt.values()), default=1.0)
        scale = scale if scale > 0 else 1.0
        if all(n in alt and np.allclose(g, alt[n], rtol=rtol, atol=atol * scale)
               for n, g in G.items()):  # fmt: skip
            handed = (REORDERED if reorder else OTHER) % k
            return [Finding("stale_input", tuple(names), None, k, handed + STALE[kept], STALE_HINT)]
    return []


REORDERED = (
    "step %d handed your code the batch of step 1 with its rows in another order (each moved "
    "up one place, X and y together)"
)
OTHER = "step %d handed your code another batch than step 1's"
STALE = {
    "X": ": your gradients are PyTorch's for step 1's X with this step's y, so your network "
    "computed on X as an earlier call gave it: an input kept from the first call (X, or an "
    "im2col of it, saved once), or a stored X that the adapter does not update",
    "W": ": your gradients are PyTorch's with layer 1's dW built from step 1's input and "
    "everything else from this step's: the layer keeps its input from the first call only "
    "(self.last_input set once)",
    "y": ": your gradients are PyTorch's for this step's X with step 1's y, so your loss took the "
    "targets an earlier call gave: a y kept from the first call, or a stored y that the adapter "
    "does not update",
}
STALE_HINT = (
    "compute everything from the arguments of each call: cache a layer's input in every forward "
    "pass (self.x = x), never only the first time; set the stored X and y from the adapter's "
    "arguments together"
)
