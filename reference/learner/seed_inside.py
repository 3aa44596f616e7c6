"""A seed set inside the training pass: deeplearning.ai's ``forward_propagation_with_dropout``
starts with ``np.random.seed(1)`` and draws each layer's mask after it, so every pass draws
the same masks (review s31 F2: its masks "could not be recovered", and ``dropout_seed=1``,
replayed as CS231n's seed in each layer, named the correct forward a bug). NumPy's global
generator is replayed from ``np.random.seed(S)`` for the seeds learners write (or the one
declared), by each recipe; the same masks at every step are then ``frozen``'s finding."""

from __future__ import annotations

from typing import Any

import numpy as np

from .result import Finding

SEEDS = (*range(11), 42, 123, 1234)  # the seeds tried where none is declared


def inside(seeds: tuple[int, ...] | list[int], recipes: Any, keeps: list, shapes: list) -> list:
    """(label "inside S recipe", forward masks, next draws) of each seed and recipe, the
    generator seeded once before the pass's first mask."""
    from .layered_masks import replay

    flat = all(len(s) == 2 for s in shapes)
    out = []
    for s in seeds:
        state = np.random.RandomState(s).get_state()
        for r in recipes:
            if flat or not r.endswith("_T"):
                out.append((f"inside {s} {r}", *replay(state, r, keeps, shapes)))
    return out


def seeded_inside(
    ref: Any, at: tuple, loss: float, tol: float, names: list, keeps: list, shapes: list,
    seeds: Any = SEEDS, recipes: Any = None,
) -> tuple | None:  # fmt: skip
    """(distance, masks, next draws, label, twin step) of the first seed and recipe whose
    masks give the learner's ``loss`` within ``tol`` (``at``: P, B, X, y), else None: taken
    at the loss alone, never by the nearer-gradients reading (one of ~70 draws lands near)."""
    from .layered_masks import RECIPES

    for label, fwd, nxt in inside(seeds, recipes or RECIPES, keeps, shapes):
        masks = dict(zip(names, fwd, strict=True))
        t = ref.run(*at, masks)
        if abs(t.loss - loss) <= tol:
            return abs(t.loss - loss), masks, nxt, label, t
    return None


def again(label: str, k: int, state: Any, keeps: list, shapes: list, seen: list) -> list:
    """The draws replayed at step ``k`` after step 1's "inside S recipe": seeded with S first
    (the same masks again), then with the next of the seeds ``seen`` so far if they step
    evenly (a step counter: 10 k, 41 + k), the others and the step's neighbours, then the
    generator as it stands (seeded once, on the first pass): review s32 F1,
    np.random.seed(STEP) with STEP += 1 and a seed set on the first call alone were named a
    repeated mask."""
    from .layered_masks import replay

    seed, recipe = int(label.split()[1]), label.split()[2]
    last = [s for s in seen if s is not None]
    ahead = [2 * last[-1] - last[-2]] if len(last) > 1 and 2 * last[-1] >= last[-2] else []
    seeds = list(dict.fromkeys([seed, *ahead, *SEEDS, *range(max(k - 2, 0), k + 2)]))
    as_it_stands = (recipe, *replay(state, recipe, keeps, shapes))
    return [*inside(seeds, [recipe], keeps, shapes), as_it_stands]


WIDE = range(2048)  # the seeds searched where a later step's seed is none of those above


def seed_of(label: str) -> int | None:
    """The seed of an "inside S recipe" label; None for another draw."""
    return int(label.split()[1]) if label.startswith("inside") else None


def declared_seed(
    seed: int, ref: Any, at: tuple, loss: float | None, tol: float, names: list, keeps: list,
    shapes: list,
) -> tuple:  # fmt: skip
    """(masks, None, note or None) of a declared ``dropout_seed``: seeded in each layer
    (CS231n) or once before the pass's first mask (deeplearning.ai), whichever gives the
    learner's ``loss``; where neither does, the nearest with a ``dropout_unrecovered`` note,
    so that what parts is refused, not judged (review s33 F10: a seed set between the two
    dropout layers was read as a forward bug)."""
    from .layered_masks import RECIPES, seeded

    per_layer = [seeded(seed, kp, sh) for kp, sh in zip(keeps, shapes, strict=True)]
    cands = [dict(zip(names, per_layer, strict=True))]
    if loss is None:
        return cands[0], None, None
    cands += [
        dict(zip(names, f, strict=True)) for _, f, _ in inside([seed], RECIPES, keeps, shapes)
    ]
    gaps = [abs(ref.run(*at, m).loss - loss) for m in cands]
    best = min(range(len(cands)), key=lambda i: gaps[i])
    text = (
        f"your dropout masks are not the declared dropout_seed={seed}'s: neither its draws in "
        "each layer nor once before the pass give your loss; declare masks=[...] (your dropout "
        "layers or their mask arrays) instead"
    )
    return cands[best], None, (lost(1, text) if gaps[best] > tol else None)


def lost(k: int, text: str) -> Finding:
    """The ``dropout_unrecovered`` note of step ``k``: the layered check then refuses to judge
    a step it cannot replay (review s33 F2: a seed of 10 k was read as a forward bug)."""
    return Finding("dropout_unrecovered", (), None, k, text, "", "note")


def said(label: str) -> str:
    """The seed of an "inside S recipe" label, as the learner wrote it."""
    return f"np.random.seed({label.split()[1]})"


def seed_said(recipe: str, masks: dict, keeps: list, shapes: list, first: str | None) -> str:
    """The ``np.random.seed(S)`` said beside masks repeated from step to step: the step's own
    "inside" recipe's, or, where the step took the previous masks, a seed among ``SEEDS``
    whose draws by step 1's recipe ``first`` they are (the generator stood at seed S before
    step 1, so step 1 read it as the plain generator: review s50 F4, deeplearning.ai's
    np.random.seed(1) in the forward beside the file's own np.random.seed(1))."""
    if recipe.startswith("inside"):
        return said(recipe)
    if recipe != "previous" or not first or first.split()[0] in ("inside", "seed", "previous"):
        return ""
    for label, fwd, _ in inside(SEEDS, [first], keeps, shapes):
        if all(np.array_equal(f, m) for f, m in zip(fwd, masks.values(), strict=True)):
            return said(label)
    return ""
