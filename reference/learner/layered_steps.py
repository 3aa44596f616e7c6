"""Step bookkeeping of a layered check: which batches are compared, masks that repeat across
steps, running statistics that move outside a training pass, the reading of square dense
weights, the notes that say what was not compared, and the per-parameter table."""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np

from nnparity.reference.compare import Record
from nnparity.scratch.spec_layers import layer_shapes

from .layered_decl import LayeredDecl
from .layered_masks import recover
from .mask_draws import Draws, axis_text
from .paths import LearnerError
from .result import Finding, ParamRow
from .row_order import rows_at

Array = np.ndarray
MAX_SQUARE = 4  # square dense weights whose layout is tried both ways (2**4 readings)
COINCIDENCE = 1e-9  # masks drawn afresh are identical with at most this probability


def note(code: str, evidence: str, hint: str, step: int | None = None) -> Finding:
    return Finding(code, (), None, step, evidence, hint, "note")


def per_channel(decl: LayeredDecl, rows: int) -> int | None:
    """The fewest values a batchnorm normalises per channel at a batch of ``rows`` (None
    without batchnorm): rows for a dense batchnorm, rows x positions after a conv."""
    counts = []
    shape = decl.spec.in_shape
    for c, out in zip(decl.spec.stack, layer_shapes(decl.spec), strict=True):
        if c.name == "batchnorm":
            counts.append(rows * (int(np.prod(shape[1:])) if len(shape) == 3 else 1))
        shape = out
    return min(counts) if counts else None


PASS = 64  # the most steps a pass over the batches extends the comparison to


def schedule(decl: LayeredDecl, n: int, bs: int, steps: int) -> tuple[list[Array], list[Finding]]:
    """The row indices of each step compared: the batches in order, cycling, ``steps`` of
    them (one batch: in another order at even steps, see ``row_order``), and at least one pass
    over every batch (review s18b: a pooling bug on the ties of batch 16 of 25 said match at
    10 steps), up to ``PASS`` steps, the batches after the first ``steps`` then spread over the
    data, the last, short one among them, with a note; a batch whose batchnorm would see one
    value per channel is left out, with a note (PyTorch refuses it, the statistics are
    undefined)."""
    batches = [np.arange(i, min(i + bs, n)) for i in range(0, n, bs)]
    count = max(steps, min(len(batches), PASS))  # at least one pass over every batch
    notes = []
    if len(batches) <= count:  # one batch: reordered at even k
        order = [rows_at(batches, k) for k in range(1, count + 1)]
    else:  # the batches after the first spread evenly over the data, the last one among them
        rest = batches[steps:]
        picks = sorted(set(np.linspace(0, len(rest) - 1, count - steps).round().astype(int)))
        order = batches[:steps] + [rest[i] for i in picks]
        left = len(batches) - len(order)
        notes.append(
            note(
                "rows_not_handed",
                f"{left} of your {len(batches)} batches were compared at no step: the check "
                f"compared {len(order)}, the first {steps} and the others spread over your data",
                f"check with steps={len(batches)} to compare every batch",
            )
        )
    if len(batches) > steps and len(batches[-1]) < bs:
        notes.append(
            note(
                "short_batch_compared",
                f"your last batch has {len(batches[-1])} rows (the others {bs}): it is compared "
                f"as step {len(order)}, beyond the {steps} step(s) asked for",
                "nothing to do: a 1/N taken from the full batch size shows there",
                len(order),
            )
        )
    ones = [i for i, b in enumerate(order) if per_channel(decl, len(b)) == 1]
    if ones and len(ones) == len(order):
        raise LearnerError(
            "batchnorm would see one value per channel in training (a batch of one row): "
            "its batch variance is 0 and PyTorch refuses it; use batch_size >= 2"
        )
    if ones:
        notes.append(
            note(
                "batch_not_compared",
                f"{len(ones)} batch(es) of one row not compared: batchnorm would see one value "
                "per channel (its batch variance is 0; PyTorch refuses it)",
                "choose a batch size that leaves no batch of one row (len(X) % batch_size != 1)",
            )
        )
    order = [b for i, b in enumerate(order) if i not in ones]
    return order, notes


def frozen(
    prev: dict[str, Array] | None,
    masks: dict[str, Array],
    keeps: list[float],
    k: int,
    seed: str = "",
    j: int | None = None,
) -> Finding | None:
    """``dropout_mask`` when a step's masks are the previous step's, drawn afresh with a
    chance below ``COINCIDENCE`` (each element agrees with probability keep^2 + (1-keep)^2);
    ``seed``: the ``np.random.seed(S)`` the replay found inside the pass, which draws them;
    ``j``: the earlier step whose masks ``prev`` are (the previous one by default)."""
    j = k - 1 if j is None else j
    if not prev:
        return None
    same = []
    log_p = 0.0
    for (n, m), keep in zip(masks.items(), keeps, strict=True):
        p = prev.get(n)
        if p is None or p.shape != m.shape or not np.array_equal(p, m):
            return None
        log_p += m.size * np.log(max(keep**2 + (1 - keep) ** 2, 1e-300))
        same.append(n)
    if log_p > np.log(COINCIDENCE):
        return None
    nums = ", ".join(n[4:] for n in same)
    return Finding(
        "dropout_mask",
        (),
        int(same[-1][4:]),
        k,
        f"dropout layer(s) {nums}: the mask of step {k} is the mask of step {j}, element "
        f"for element (by chance with probability 1e{log_p / np.log(10):.0f}): "
        + (
            f"{seed} inside your training pass starts every pass's draws at the same state"
            if seed
            else "the mask is drawn once and reused"
        ),
        f"set the seed once, before the training loop, not in the pass ({seed} there makes "
        "dropout train one fixed thinned network)"
        if seed
        else "draw a new mask in every training forward pass (not only when none is stored or "
        "its shape changes)",
    )


def undrawn(
    drawn: dict[str, Draws], masks: dict[str, Array], known: dict, k: int
) -> Finding | None:
    """``dropout_mask`` when declared masks, over the steps so far, are not independent draws
    at keep (``mask_draws``): a kept fraction beyond chance, or one draw shared along an axis
    (the twin takes any mask it is given; these say whether the mask is dropout's)."""
    for n, m in masks.items():
        drawn[n].add(m, known.get(n))
    for n, d in drawn.items():
        ax = d.shared_axis()
        if ax is None and not d.fraction_off():
            continue
        fix = "draw one uniform value per element: mask = np.random.rand(*x.shape) < keep"
        sd = np.sqrt(d.keep * (1 - d.keep) / max(d.n, 1))
        other = ax is None and abs(d.fraction() - (1 - d.keep)) <= 3 * sd  # (review s43 F5)
        what = (
            f"{axis_text(ax, d.ndim)} (independent draws do so with probability "
            f"1e{d.constant[ax] / np.log(10):.0f})"  # type: ignore[index]
            if ax is not None
            else f"it keeps {d.fraction():.1%} of {d.n:,} elements where keep = {d.keep:.0%}: "
            + (
                "about 1 - keep, dropout's p read the other way (the probability to drop used "
                "as the one to keep, or the reverse: nnfs's self.rate = rate for 1 - rate)"
                if other
                else "not drawn as rand < keep (randn's normal draws keep Phi(keep))"
            )
        )
        if other:
            fix = (
                f"keep each element with probability keep = {d.keep:g} (mask = "
                "np.random.rand(*x.shape) < keep, keep = 1 - p where p drops), or declare "
                'p="keep" if your p is the keep probability'
            )
        return Finding(
            "dropout_mask",
            (),
            int(n[4:]),
            k,
            f"dropout layer {n[4:]}: the declared mask, over steps 1-{k}: {what}",
            fix,
        )
    return None


def moved(before: dict[str, Array] | None, after: dict[str, Array] | None) -> list[str]:
    """Running statistics that changed between two reads (none should)."""
    if before is None or after is None:
        return []
    return [n for n in before if not np.array_equal(before[n], after[n])]


def moved_finding(names: list[str], paths: list[str], what: str, k: int) -> Finding:
    layer = int("".join(filter(str.isdigit, names[0])) or 0) or None
    return Finding(
        "batchnorm_running",
        tuple(paths),
        layer,
        k,
        f"your running statistics ({', '.join(paths)}) changed {what}: they move once per "
        "training pass only",
        "update running_mean/running_var in training mode only; in test mode normalise with "
        "them and leave them as they are",
    )


def layouts(learner: Any, raw_p: list[Array], score: Any) -> tuple[dict, Finding | None]:
    """The reading of the square dense weights (undeclared layout) that ``score(P, G)``
    finds closest (each subset of them stored (out, in)); (P, a note when any is). Where no
    reading reproduces, a flipped one is taken only when it is four times nearer than the
    declared (in, out) one: a bug elsewhere leaves both far (review s43 F5)."""
    sq = learner.square[:MAX_SQUARE]
    best = s0 = None
    for bits in product((False, True), repeat=len(sq)):
        learner.flip = {n for n in learner.flip if n not in sq} | {
            n for n, b in zip(sq, bits, strict=True) if b
        }
        P = {
            n: learner.fit(n, p, v)
            for n, p, v in zip(learner.names, learner.a.paths, raw_p, strict=True)
        }
        s = score(P, learner.grads())
        s0 = s0 if best else s  # the declared reading's (no square one flipped: the first)
        if best is None or s < best[0]:
            best = (s, set(learner.flip), P)
    clear = best[0][0] == s0[0] and best[0][1] * 4 < s0[1]  # far nearer than the declared
    if not clear and (best[0][0] or best[0][1] > 1e-3):  # no reading stands out (a bug
        best = (best[0], {n for n in best[1] if n not in sq}, best[2])  # elsewhere): declared
        if best[1] != learner.flip:  # (review s43 F5: a dropout bug read W3 as (out, in))
            learner.flip = best[1]
            best = (
                best[0],
                best[1],
                {
                    n: learner.fit(n, p, v)
                    for n, p, v in zip(learner.names, learner.a.paths, raw_p, strict=True)
                },
            )
    learner.flip = best[1]
    flipped = [n for n in sq if n in best[1]]
    learner.square = []
    if not flipped:
        return best[2], None
    return best[2], note(
        "layout_inferred",
        f"{', '.join(flipped)} square: read as (out, in) (x @ W.T), the reading that reproduces "
        "your loss and gradients",
        "declare layout='out_in' to say so",
    )


def table(records: list[Record], learner: Any) -> tuple[ParamRow, ...]:
    """One row per learner array compared: worst step, first bad step, max diffs."""
    rows = []
    names = dict(zip(learner.names, learner.a.paths, strict=True))
    for name in [*learner.names, *[r.tensor for r in records if r.stage == "buffers"]]:
        rs = [r for r in records if r.tensor == name and r.stage in ("grad", "buffers")]
        if not rs or any(row.canonical == name for row in rows):
            continue
        bad = [r for r in rs if not r.passed]
        rows.append(
            ParamRow(
                names.get(name, name),
                name,
                rs[0].shape,
                len(rs),
                bad[0].step if bad else None,
                rs[0].stage,
                max(r.max_abs for r in rs),
                max(r.max_rel for r in rs),
            )
        )
    return tuple(rows)


def scorer(learner, ref, B, X, y, loss, state):  # noqa: ANN001, ANN202
    """score(P, G): (the loss parts, the gradients' relative distance from the twin's times
    the loss's factor c = loss / twin loss; or, the loss agreeing, their relative distance)
    against the twin with the masks recovered at ``P`` (smaller: a better reading; the loss
    first, which a backward bug leaves as it is; c, which a factor on the loss shares)."""

    floor = float(np.sqrt(np.finfo(learner.dtype).eps))

    def score(P: dict, G: dict) -> tuple[bool, float]:
        try:
            masks, _, got = recover(learner, ref, P, B, X, y, loss, G, state, None, 1)
        except LearnerError:
            return (True, np.inf)
        if got is not None and got.kind != "note":  # p read the other way reproduces the loss
            return (False, 0.0)
        t = ref.run(P, B, X, y, masks)
        # a gradient that is exactly 0 (a bias before a batchnorm) holds round-off only: each
        # is measured against at least sqrt(eps) of the largest, so its noise cannot choose
        top = floor * max(_top(t.grads[n]) for n in G)
        d = [float(np.abs(g - t.grads[n]).max()) / max(_top(t.grads[n]), top) for n, g in G.items()]
        if loss is None:
            return (False, max(d))
        off = abs(loss - t.loss) / max(abs(t.loss), 1e-300)
        if off <= 1e-6:
            return (False, max(d))
        # the loss parts (a bug, or a factor on the loss): the reading whose gradients are
        # nearest the twin's times the loss's own factor c is the layout
        c = loss / t.loss if t.loss else 1.0
        size = floor * max(float(np.linalg.norm(c * t.grads[n])) for n in G)
        return (True, max(_rel(g, c * t.grads[n], size) for n, g in G.items()))

    return score


def _rel(a: Array, b: Array, least: float = 1e-300) -> float:
    """||a - b|| / max(||b||, least)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(b)), least)


def _top(a: Array) -> float:
    return max(float(np.abs(a).max(initial=0.0)), 1e-300)
