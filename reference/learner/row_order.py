"""The same batch in another row order: a probe for data kept from an earlier call.

When the data is one batch, every step would hand the learner the same rows in the same
order, and code that keeps data from an earlier call (an input or im2col saved on the first
call only, a stored ``self.X`` that the adapter does not set) would agree with PyTorch while
being wrong on any other batch. So every second step hands the batch in reverse row order: a
mean or sum over samples does not depend on their order, so correct code gives the same
gradients (PyTorch is run on the same reversed rows), and the output follows the rows.

Two readings of a step whose rows came reversed:
- the output did not follow the rows but everything else agrees: the learner's functions keep
  their own data (they ignore the X they are given). With one batch that changes nothing, so
  it is a note of what was not checked, and the output is compared in the learner's order;
- the gradients part, and they are PyTorch's for the rows of X as they came at step 1 with
  this step's y (or, the same pairs, this step's X with step 1's y): ``stale_input``; a layer's
  input cached at step 1 alone is a weight-gradient form of the hypothesis search
  (candidates.py, ``a_first``).
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


def rows_at(batches: list[Array], k: int) -> Array:
    """The rows of step ``k``: the batches in order, cycling; one batch of two rows or more
    comes in reverse order at every even step."""
    rows = batches[(k - 1) % len(batches)]
    if len(batches) == 1 and len(rows) > 1 and k % 2 == 0:
        return rows[::-1]
    return rows


def reordered(rows: Array, first: Array) -> bool:
    """The step's rows are step 1's in another order."""
    return other_rows(rows, first) and np.array_equal(np.sort(rows), np.sort(first))


def other_rows(rows: Array, first: Array) -> bool:
    """The step has as many rows as step 1, not the same in the same order."""
    return len(rows) == len(first) and not np.array_equal(rows, first)


def ignores_rows(out: Array | None, twin_out: Array, rtol: float, atol: float) -> bool:
    """The learner's output is the twin's with the rows reversed back (the order of step 1),
    and is not the twin's as the rows came."""
    if out is None or out.shape != twin_out.shape or len(out) < 2:
        return False
    scale = max(1.0, float(np.abs(twin_out).max(initial=0.0)))
    back = twin_out[::-1]
    if np.array_equal(back, twin_out):
        return False
    close = lambda a, b: bool(np.allclose(a, b, rtol=rtol, atol=atol * scale))  # noqa: E731
    return close(out, back) and not close(out, twin_out)


def ignores_rows_note(step: int) -> Finding:
    return Finding(
        "ignores_rows",
        (),
        None,
        step,
        f"whether your code uses the data it is handed: at step {step} the batch came with its "
        "rows in reverse order and your output kept the order of step 1 (your forward computes "
        "on data it keeps, a stored X or an input saved on the first call, not on the X it is "
        "given); on this one batch your training is unaffected, but predictions on other "
        "data (a test set) and any other batch would be the first's",
        "compute the forward pass from the X each call is given (set self.X from the "
        "adapter's arguments, and cache inputs on every call, not only the first)",
        "note",
    )


def explain_stale(history: list, ref: Any, X: Array, y: Array, codec: Any, first: int,
                  atol: float, rtol: float) -> list[Finding]:  # fmt: skip
    """``stale_input`` at step ``first`` (whose rows are step 1's in another order): the
    learner's gradients are PyTorch's for step 1's X with this step's y (the same pairs as this
    step's X with step 1's y: a mean over pairs does not tell the two apart)."""
    obs, _, _ = history[first - 1]
    rows1 = history[0][0].rows
    if obs.grads is None or not other_rows(obs.rows, rows1):
        return []
    alt = ref.run(obs.params, X[rows1], y[obs.rows]).grads
    labels = codec.labels(list(obs.grads))
    return _stale(alt, obs.grads, labels, first, rtol, atol, reordered(obs.rows, rows1))


def stale_layered(ref: Any, P: dict, B: dict, X: Array, y: Array, rows1: Array, rows: Array,
                  masks: dict, G: dict, bad: list, labels: dict[str, str],
                  dtype: str) -> list[Finding]:  # fmt: skip
    """``stale_input`` for the failing records ``bad`` of a layered step whose ``rows`` are
    step 1's (``rows1``) in another order (``y``: the twin's targets)."""
    alt = ref.run(P, B, X[rows1], y[rows], masks).grads
    names = list(dict.fromkeys(labels[r.tensor] for r in bad if r.tensor in labels))
    tol = 1e-3 if dtype != "float64" else 1e-6
    return _stale(alt, G, names, bad[0].step, tol, tol, reordered(rows, rows1))


def _stale(alt: dict, G: dict, names: list[str], k: int, rtol: float, atol: float,
           reverse: bool) -> list[Finding]:  # fmt: skip
    """``stale_input`` when every gradient in ``G`` is the mispaired run's ``alt``."""
    scale = max((float(np.abs(v).max(initial=0.0)) for v in alt.values()), default=1.0)
    scale = scale if scale > 0 else 1.0
    if not all(n in alt and np.allclose(g, alt[n], rtol=rtol, atol=atol * scale)
               for n, g in G.items()):  # fmt: skip
        return []
    handed = REVERSED if reverse else OTHER
    return [Finding("stale_input", tuple(names), None, k, handed % k + STALE, STALE_HINT)]


REVERSED = "step %d handed your code the batch of step 1 with its rows in reverse order"
OTHER = "step %d handed your code another batch than step 1's"
STALE = (
    " (X and y together): your gradients are PyTorch's for step 1's X with this step's y (the "
    "same pairs as this step's X with step 1's y, where the rows are the same), so your code "
    "keeps X or y from an earlier call: an input kept from the first call (X, or an im2col of "
    "it, saved once), or a stored X or y that the adapter does not update"
)
STALE_HINT = (
    "compute everything from the arguments of each call: cache a layer's input in every forward "
    "pass (self.x = x), never only the first time; set the stored X and y from the adapter's "
    "arguments together"
)
