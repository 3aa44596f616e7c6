"""Recovering the dropout masks a learner's training pass used (``layered_decl`` says from
where), so that the twin applies the very same masks.

Sources, in order: the declared ``masks`` (an array whose non-zero entries are the kept
elements; or a dropout layer object: its ``binary_mask`` / ``mask``, else its ``inputs`` and
``output``); ``dropout_seed`` (CS231n: ``np.random.seed(S)`` then ``rand(*shape) < keep`` in each
dropout layer); else NumPy's global generator replayed from its state before the pass, with
CS231n's recipe (``rand < keep``) or nnfs's (``binomial(1, keep)``), each also drawn
(units, samples) and transposed (Ng's samples as columns), the one whose twin loss is nearest
the learner's.

From ``inputs`` and ``output`` the mask is known only where the input is non-zero. Where it is
zero the forward does not depend on it, but backward does (``dx = dout * mask / keep``
reaches the layer below unless that layer's derivative is zero there, as relu's is at a unit
it zeroed): both fillings are tried and, when the gradients differ, the one the learner's
gradients agree with is taken (its backward's mask is the one it used).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .declared_masks import declared_mask, declared_slip, raw_mask
from .layered_decl import LayeredDecl
from .paths import LearnerError
from .result import Finding
from .seed_inside import WIDE, again, declared_seed, lost, said, seed_of, seeded_inside

Array = np.ndarray
RECIPES = {  # how learners draw a dropout mask from NumPy's global generator
    "rand": "np.random.rand(*x.shape) < keep",
    "rand_gt": "np.random.rand(*x.shape) > p (p dropping)",
    "binomial": "np.random.binomial(1, keep, size=x.shape)",
    "rand_T": "np.random.rand(units, samples) < keep, samples as columns (Ng's course)",
    "binomial_T": "np.random.binomial(1, keep, size=(units, samples)), samples as columns",
}
WRONG = {  # draws learners write that are not dropout's: named where they are the learner's
    "randn": "np.random.randn(*x.shape) < keep: normal draws, which keep Phi(keep) of the "
    "elements, not keep",
    "rand_rows": "np.random.rand(*x.shape[1:]) < keep: one mask for every sample of the batch",
}


def seeded(seed: int, keep: float, shape: tuple[int, ...]) -> Array:
    """CS231n's dropout with a seed: ``np.random.seed(seed); np.random.rand(*shape) < keep``."""
    return np.random.RandomState(seed).rand(*shape) < keep


def replay(state: Any, recipe: str, keeps: list[float], shapes: list[tuple[int, ...]]):
    """(forward masks, next draw per layer in backward order) from the generator ``state``."""
    rs = np.random.RandomState()
    rs.set_state(state)
    draw = {
        "rand": lambda k, s: rs.rand(*s) < k,
        "rand_gt": lambda k, s: rs.rand(*s) > 1 - k,
        "binomial": lambda k, s: rs.binomial(1, k, size=s) != 0,
        "rand_T": lambda k, s: (rs.rand(*s[::-1]) < k).T,  # drawn (units, samples)
        "binomial_T": lambda k, s: (rs.binomial(1, k, size=s[::-1]) != 0).T,
        "randn": lambda k, s: rs.randn(*s) < k,
        "rand_rows": lambda k, s: np.broadcast_to(rs.rand(*s[1:]) < k, s).copy(),
    }[recipe]
    fwd = [draw(k, s) for k, s in zip(keeps, shapes, strict=True)]
    nxt: list[Array | None] = [None] * len(keeps)
    for j in range(len(keeps) - 1, -1, -1):  # backward visits the last dropout first
        nxt[j] = draw(keeps[j], shapes[j])
    return fwd, nxt


def input_shapes(decl: LayeredDecl, rows: int) -> list[tuple[int, ...]]:
    from nnparity.scratch import build

    net = build(decl.spec)
    return [(rows, *s.in_shape) for s in net.slots if s.layer.has_mask]


def keeps_of(decl: LayeredDecl) -> list[float]:
    return [1.0 - dict(c.params).get("p", 0.5) for c in decl.spec.stack if c.name == "dropout"]


def recover(learner: Any, ref: Any, P, B, X, y, loss, G, state, prev=None, k: int = 1):  # noqa: ANN001
    """(masks by name, the replayed generator's next draws or None, a note or None). Replayed
    masks must give the learner's loss within ``REPLAY_RTOL`` (by dtype): the previous
    step's masks are one more candidate (a mask drawn once and reused); none fitting at
    step 1 is a ``dropout_unrecovered`` note (the masks come from elsewhere, or the forward
    differs: only declared masks tell). The draw that fits at step 1 is the learner's code
    and the only one replayed after it (a bug that changes the loss then cannot pick another
    draw that happens to be nearer)."""
    decl = learner.decl
    numbers = decl.dropout_numbers()
    if not numbers:
        return {}, None, None
    shapes, keeps = input_shapes(decl, len(X)), keeps_of(decl)
    names = [f"mask{n}" for n in numbers]
    if decl.masks:
        if slip := declared_slip([raw_mask(s, learner.owner) for s in decl.masks], keeps, shapes,
                                 numbers, k):  # fmt: skip
            return {}, None, slip
        got = [
            declared_mask(s, learner.owner, sh) for s, sh in zip(decl.masks, shapes, strict=True)
        ]
        masks = {n: m for n, (m, _) in zip(names, got, strict=True)}
        known = [None if u is None else ~u for _, u in got]  # entries the source shows
        learner.mask_known = dict(zip(names, known, strict=True))
        for n, (m, und) in zip(names, got, strict=True):
            if und is not None and und.any():
                masks[n] = _fill(ref, P, B, X, y, masks, n, m, und, G)
        wrong = next((r for r in WRONG if _drawn_by(state, r, keeps, shapes, masks, learner)), None)
        if wrong and any(_drawn_by(state, r, keeps, shapes, masks, learner) for r in RECIPES):
            wrong = None  # a right draw gives them too (one row: every mask is the rows')
        return masks, _next_draws(state, keeps, shapes, masks, names), wrong and _wrong(wrong, k)
    if decl.dropout_seed is not None:  # in each layer (CS231n), or once a pass (Ng's course)
        tol = replay_rtol(learner) * max(abs(loss or 0.0), 1.0)
        return declared_seed(decl.dropout_seed, ref, (P, B, X, y), loss, tol, names, keeps, shapes)
    if loss is None:
        raise LearnerError(
            "the dropout masks cannot be recovered: return the loss from your training pass, "
            "or declare masks=[...] (the dropout layer objects or their mask arrays) or "
            "dropout_seed="
        )
    locked = getattr(learner, "recipe", None) if k > 1 else None  # step 1's fit: the code's
    flat = all(len(s) == 2 for s in shapes)  # (samples, units): also drawn transposed
    cands = [(r, *replay(state, r, keeps, shapes)) for r in (*RECIPES, *WRONG)
             if locked in (None, r) and (flat or not r.endswith("_T"))]  # fmt: skip
    for seed in seeds_of(learner.owner) if locked is None or locked.startswith("seed") else ():
        ms = [seeded(seed, kp, sh) for kp, sh in zip(keeps, shapes, strict=True)]
        cands.append((f"seed {seed}", ms, None))
    if locked and locked.startswith("inside"):  # (the seed again, another, or none since)
        cands = again(locked, k, state, keeps, shapes, learner.seeds)
    if prev and all(prev[n].shape == s for n, s in zip(names, shapes, strict=True)):
        cands.append(("previous", [prev[n] for n in names], None))
    best, dists = None, []
    learner.candidates = []
    tol = replay_rtol(learner) * max(abs(loss), 1.0)
    for recipe, fwd, nxt in cands:
        masks = dict(zip(names, fwd, strict=True))
        t = ref.run(P, B, X, y, masks)
        d = abs(t.loss - loss)
        learner.candidates.append((masks, nxt))
        dists.append((_grad_gap(G, t.grads), t))
        # a wrong draw only where no right one fits as well (masks over zeros fit any draw)
        right = best is not None and best[3] not in (*WRONG, "previous") and best[0] <= tol
        if best is None or d < best[0] and not (right and recipe in (*WRONG, "previous") and
                                                best[5] <= 2 * dists[-1][0] + 1e-12):  # fmt: skip
            best = (d, masks, nxt, recipe, t, dists[-1][0])
    inner = locked is not None and locked.startswith("inside")
    if best[0] > tol and (locked is None and k == 1 or inner):  # a seed set inside the pass?
        wide = {"seeds": WIDE, "recipes": [locked.split()[2]]} if inner else {}
        if found := seeded_inside(ref, (P, B, X, y), loss, tol, names, keeps, shapes, **wide):
            best = found
            learner.candidates.append(found[1:3])
    learner.step_recipe, learner.mask_fit = best[3], best[0] <= tol  # (frozen's evidence)
    learner.seeds = [*getattr(learner, "seeds", [])[: k - 1], seed_of(best[3])]
    if inner and best[0] > tol:  # its seed changes in a way not found: refused, not judged
        return best[1], best[2], lost(k, UNRECOVERED)
    nearest = ""
    if best[0] > replay_rtol(learner) * max(abs(loss), 1.0) and k == 1:
        # a scalar loss can land near another draw's by chance (one time in a hundred among
        # three draws): the draw must give nearly the learner's every gradient, and no other
        gap = next(g for g, t in dists if t is best[4])
        others = sorted(g for g, t in dists if not _alike(t, best[4]))  # other draws only
        if not others or gap > CLOSE or gap * NEARER > others[0]:
            other_p = _other_p(learner, ref, P, B, X, y, loss, state, shapes)
            return best[1], best[2], other_p or lost(1, UNRECOVERED)
        nearest = (  # the masks are the code's; the loss parts for another reason
            f"; no replay gives your loss exactly, but this one gives your gradients within "
            f"{gap:.2g} of their size, {others[0] / max(gap, 1e-300):.3g} times nearer than any "
            "other draw, so its masks are taken and the rest of your forward pass is what differs"
        )
    if k == 1:
        learner.recipe = best[3]
    if best[3] in WRONG:
        return best[1], best[2], _wrong(best[3], k)
    if best[3] == "previous":
        return best[1], None, None
    how = (
        f"np.random.seed({best[3][5:]}); np.random.rand(*x.shape) < keep, the seed your "
        "dropout_param holds"
        if best[3].startswith("seed")
        else f"{said(best[3])} inside your pass, then {RECIPES[best[3].split()[2]]}"
        if best[3].startswith("inside")
        else RECIPES[best[3]]
    )
    note = Finding(
        "dropout_seeded" if best[3].startswith("seed") else "dropout_replayed",
        (),
        None,
        1,
        f"your dropout masks were recovered by replaying NumPy's global generator ({how})"
        + nearest,
        "declare masks=[...] or dropout_seed= to give them directly",
        "note",
    )
    return best[1], best[2], note


def _drawn_by(
    state: Any, recipe: str, keeps: list, shapes: list, masks: dict, learner: Any
) -> bool:
    """Whether the declared masks are, wherever their source shows them, ``recipe``'s draws
    from the generator's state before the pass. Masks that keep every entry (or none) are no
    evidence: every recipe draws them now and then (review s28 f14f: a 4x4 mask all kept at
    keep 0.8, 2.8% of draws, read as "one mask for every sample" at step 3)."""
    known = getattr(learner, "mask_known", {})
    shown = [m[kn] if (kn := known.get(n)) is not None else m for n, m in masks.items()]
    if all(np.asarray(m).all() or not np.asarray(m).any() for m in shown):
        return False
    fwd, _ = replay(state, recipe, keeps, shapes)
    return all(
        np.array_equal(f[kn], m[kn]) if (kn := known.get(n)) is not None else np.array_equal(f, m)
        for f, (n, m) in zip(fwd, masks.items(), strict=True)
    )


def _wrong(recipe: str, k: int) -> Finding:
    return Finding(
        "dropout_mask",
        (),
        None,
        k,
        f"your dropout masks are {WRONG[recipe]} (replayed from NumPy's generator, they are "
        "your masks element for element)",
        "draw one uniform value per element: mask = np.random.rand(*x.shape) < keep",
    )


def _grad_gap(G: dict, twin: dict) -> float:
    """||G - twin|| / ||twin|| over all the gradients at once (a bias whose exact gradient is
    0, under a batchnorm, weighs as little as it is; inf without gradients)."""
    if not G:
        return float("inf")
    diff = sum(float(np.sum((np.asarray(G[n], np.float64) - twin[n]) ** 2)) for n in G)
    size = sum(float(np.sum(np.asarray(twin[n], np.float64) ** 2)) for n in G)
    return float(np.sqrt(diff / max(size, 1e-300)))


def _alike(a: Any, b: Any) -> bool:
    """Two draws the twin cannot tell apart: the same loss and gradients (masks that differ
    only where a unit's input is zero, or the same draw by two recipes, are one draw)."""
    return bool(
        np.isclose(a.loss, b.loss, rtol=1e-12, atol=0)
        and all(np.allclose(a.grads[n], b.grads[n], rtol=1e-12, atol=0) for n in a.grads)
    )


def _other_p(learner, ref, P, B, X, y, loss, state, shapes):  # noqa: ANN001, ANN202
    """``dropout_mask`` when dropout's p read the other way (keep for drop) gives the
    learner's loss with a replayed mask: the declaration or the code reads p wrongly."""
    from dataclasses import replace

    from .layered_decl import flip_p

    decl = learner.decl
    layers = tuple(flip_p(c) for c in decl.spec.stack)
    flipped = replace(decl, spec=decl.spec.replace(layers=layers), keep_p=not decl.keep_p)
    other = type(ref)(flipped)
    keeps = keeps_of(flipped)
    names = [f"mask{n}" for n in decl.dropout_numbers()]
    for r in RECIPES:
        fwd, _ = replay(state, r, keeps, shapes)
        t = other.run(P, B, X, y, dict(zip(names, fwd, strict=True)))
        if abs(t.loss - loss) <= replay_rtol(learner) * max(abs(loss), 1.0):
            said, used = ("keeps", "drops") if decl.keep_p else ("drops", "keeps")
            return Finding(
                "dropout_mask",
                (),
                decl.dropout_numbers()[0],
                1,
                f"dropout's p read the other way: declared as the probability your dropout "
                f"{said}, your code {used} with it (the replayed mask {RECIPES[r]} with p "
                "read so reproduces your loss)",
                f"declare p={'drop' if decl.keep_p else 'keep'!r} if that is your convention, "
                "else use p as declared in the mask",
            )
    return None


NEARER = 10.0  # a replay whose gradients are this many times nearer than any other draw's
CLOSE = 0.25  # and within this of the learner's gradients (relative): it holds the masks
UNRECOVERED = (
    "your dropout masks could not be recovered: no replay of NumPy's global generator "
    f"({'; '.join(RECIPES.values())}) reproduces your loss, and no named bug explains it with "
    "the nearest replay (a private generator such as default_rng, a seed set inside the pass, "
    "or a forward that differs: only the masks themselves tell): declare masks=[...] (the "
    "dropout layers or their mask arrays) or dropout_seed="
)


def seeds_of(owner: Any) -> list[int]:
    """Integer ``seed`` entries of the owner's dict attributes (CS231n's ``dropout_param``)."""
    out = []
    for v in getattr(owner, "__dict__", {}).values():
        if isinstance(v, dict) and isinstance(v.get("seed"), int | np.integer):
            out.append(int(v["seed"]))
    return out


# a replayed mask gives the learner's loss within this x max(|loss|, 1): its round-off, with
# room; a wrong draw lands this near only by a rare chance
REPLAY_RTOL = {"float64": 1e-10, "float32": 1e-5}


def replay_rtol(learner: Any) -> float:
    return REPLAY_RTOL.get(getattr(learner, "dtype", "float64"), 1e-5)


def _next_draws(state, keeps, shapes, masks, names):  # noqa: ANN001
    """The replayed generator's next draws, when its forward draws are the masks recovered
    (a backward that draws a fresh mask from NumPy's global generator draws these)."""
    for recipe in RECIPES:
        fwd, nxt = replay(state, recipe, keeps, shapes)
        if all(np.array_equal(f, masks[n]) for f, n in zip(fwd, names, strict=True)):
            return nxt
    return None


MAX_UNDETERMINED = 64  # mask entries at a zero input that reach a gradient, solved one by one


def _fill(ref, P, B, X, y, masks, name, kept, und, G):  # noqa: ANN001
    """The mask where the dropout's input is zero. The forward does not depend on it there;
    backward does (dx = dout * mask / keep) wherever the layer below passes a gradient on.
    Those entries are found by ``influence``; each one's gradient contribution ``c_j`` is
    measured, and the learner's gradients ``G = G0 + sum_j m_j c_j`` (linear in the mask)
    solved for m_j in {0, 1}; entries with the same ``c_j`` (identical rows) are one unknown,
    their count of kept entries, since any such assignment gives the same gradients."""
    base = {**masks, name: np.where(und, False, kept)}
    infl = ref.influence(P, B, X, y, base, name)
    scale = float(infl.max(initial=0.0))
    matters = und & (infl > 1e-12 * max(scale, 1e-300))
    if not matters.any():
        return base[name]
    idx = np.argwhere(matters)
    if len(idx) > MAX_UNDETERMINED:
        raise LearnerError(
            f"dropout {name}: {len(idx)} elements have a zero input, so your forward output "
            "does not show their mask, and your gradients depend on it: declare the mask "
            "itself (masks=[lambda: <the array your forward multiplies by>])"
        )
    below = [n for n in G if int("".join(filter(str.isdigit, n))) < int(name[4:])]
    g0 = ref.run(P, B, X, y, base).grads
    cols = []
    for j in idx:
        m = base[name].copy()
        m[tuple(j)] = True
        t = ref.run(P, B, X, y, {**masks, name: m}).grads
        cols.append(np.concatenate([(t[n] - g0[n]).ravel() for n in below]))
    groups: list[list[int]] = []  # entries with the same contribution: only their count shows
    for j, c in enumerate(cols):
        g = next((g for g in groups if np.allclose(cols[g[0]], c, rtol=1e-9, atol=1e-15)), None)
        (g.append(j) if g is not None else groups.append([j]))
    C = np.stack([cols[g[0]] for g in groups], axis=1)
    rhs = np.concatenate([(G[n] - g0[n]).ravel() for n in below])
    counts = np.linalg.lstsq(C, rhs, rcond=None)[0]
    out = base[name].copy()
    for g, v in zip(groups, counts, strict=True):
        for j in g[: int(np.clip(np.rint(v), 0, len(g)))]:
            out[tuple(idx[j])] = True
    return out
