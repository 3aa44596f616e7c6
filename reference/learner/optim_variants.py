"""Torch's optimizer updates and the hand-written variants of them, simulated on tensors."""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import combinations
from typing import Any

import torch

from nnparity.scratch.schedules import of

from .flat_excess import _excess_at, _excess_flat
from .golden import golden, golden_at
from .optim_catalog import (  # noqa: F401  (DECAY_AFTER, VARIANTS: re-exported)
    DECAY_AFTER,
    PER_NAME,
    T_SHIFTS,
    VARIANTS,
)
from .optim_fixes import VARIANT_FIX
from .optim_sim import T_COUNTS, Sim, units

Tensor = torch.Tensor
# a fitted departure: (the kw key it sets, log10 range searched, the value from the log)
FITTED = {
    "eps_value": ("eps", (-12.0, -1.0), lambda x: 10.0**x),
    "bc2_beta": ("_bc2", (-6.0, -0.05), lambda x: 1.0 - 10.0**x),
    "bc1_beta": ("_bc1", (-6.0, -0.05), lambda x: 1.0 - 10.0**x),
    "avg1_beta": ("_avg1", (-6.0, -0.05), lambda x: 1.0 - 10.0**x),
    "avg2_beta": ("_avg2", (-6.0, -0.05), lambda x: 1.0 - 10.0**x),
    "beta1_value": ("beta1", (-6.0, -0.05), lambda x: 1.0 - 10.0**x),
    "beta2_value": ("beta2", (-6.0, -0.05), lambda x: 1.0 - 10.0**x),
    "alpha_value": ("alpha", (-6.0, -0.05), lambda x: 1.0 - 10.0**x),
    "clip_value": ("_clip", (-8.0, 3.0), lambda x: 10.0**x),
    "acc_value": ("initial_accumulator_value", (-8.0, 1.0), lambda x: 10.0**x),
}
DECLARED = {"_bc1": ("beta1", 0.9), "_bc2": ("beta2", 0.999), "beta1": ("beta1", 0.9)}
DECLARED |= {"_avg1": ("beta1", 0.9), "_avg2": ("beta2", 0.999)}
DECLARED |= {"beta2": ("beta2", 0.999), "alpha": ("alpha", 0.99), "_clip": ("_clip", math.inf)}
DECLARED |= {"initial_accumulator_value": ("initial_accumulator_value", 0.0)}
T_STEP = ("t_frozen", "t_twice", "t_epoch")  # what t is at a step, each in its own way
# departures of the same quantity: at most one of each group in a combination
GROUPS = (
    {"no_bias_correction", "no_bc_m", "bc1_beta", *T_SHIFTS, *T_STEP, "bc_pow"},
    {"no_bias_correction", "no_bc_v", "bc2_beta", *T_SHIFTS, *T_STEP, "bc_pow"},
    {"bc1_beta", "avg1_beta", "beta1_value", "own_m", "swap_m", "betas_swapped"},
    {"bc2_beta", "avg2_beta", "beta2_value", "own_v", "swap_v", "betas_swapped"},
    {"alpha_value", "rms_own", "swap_v"},
    {*T_SHIFTS, *T_STEP, *T_COUNTS},
    {"no_bias_correction", *T_COUNTS},
    {"eps_inside", "eps_hat", "mv_swapped", "no_sqrt"},
    {"bc_in_place", "no_bias_correction", "no_bc_m", "no_bc_v", "bc_pow", *T_SHIFTS, *T_STEP},
    {"g_numerator", "mv_swapped", "no_bc_m", "bc1_beta", "avg1_beta"},
    {"rms_bc", "rms_bc_behind"},
    {
        "no_decay",
        "decoupled",
        "coupled",
        "sgdw",
        "sgdw_l2",
        "decay_after",
        "decay_no_lr",
        "decay_sign",
    },
    {"no_momentum", "nesterov_flip", "ema", "damp_first", "no_dampening", "mu_flip"},
    {"no_momentum", "nesterov_flip", "nesterov_sign", "nesterov_mu2"},
)


MAX_PARTS = 3
DAMP_SAME = (
    "; or keep your form (b = mu b + (1 - dampening) g from b = 0, the average of Ng's course "
    "when dampening = mu): it takes PyTorch's steps with lr={lr:.6g}, momentum={mu:g} and no "
    "dampening, so declare that"
)


def variant_search(
    name: str, kw: dict[str, Any], seq: list, atol: float, rtol: float
) -> list[tuple[str, str, str]]:
    """The smallest combination of ``VARIANTS[name]`` (one part, then two, then three; at most
    one departure of each quantity, ``GROUPS``, and one fitted value) whose simulation
    reproduces every post-step weight of ``seq``: (key, label, fix) per part; [] when none
    does. A fitted part (``FITTED``: eps, the beta of a bias correction) takes the value that
    best reproduces the weights, found on a log grid and refined by golden section; it joins
    at most ``MAX_WITH_FIT`` - 1 other parts."""
    names = list(seq[0][2]) if seq else []
    options = [
        (key, label) for key, label in VARIANTS.get(name, []) if _applies(name, key, kw, names)
    ]
    shapes = [tuple(t.shape) for t in seq[0][2].values()] if seq else []
    if len(set(shapes)) == len(shapes):  # no two parameters share a shape
        options = [(key, label) for key, label in options if key != "by_shape"]
    whole, (seq, seg) = seq, _flat(seq)
    base = _excess(Sim(name, kw), seq, atol, rtol, seg)  # the declared optimizer's own
    for n in range(1, MAX_PARTS + 1):
        passing = []  # (excess, order, combo, kw2): of one part, the closest wins
        for combo in combinations(options, n):
            keys = tuple(key for key, _ in combo)
            fitted = [k for k in keys if k in FITTED]
            if len(fitted) > 1 or any(len(g.intersection(keys)) > 1 for g in GROUPS):
                continue
            if fitted and (n > MAX_WITH_FIT or PER_NAME.intersection(keys)):
                continue
            kw2 = dict(kw)
            if fitted:
                value = _fit_value(name, kw, keys, fitted[0], seq, atol, rtol, seg)
                if value is None:
                    continue
                kw2[FITTED[fitted[0]][0]] = value
            on, at = (whole, None) if PER_NAME.intersection(keys) else (seq, seg)
            e = _excess(Sim(name, kw2, keys), on, atol, rtol, at, stop=min(base, 1.0))
            if e <= 1.0 and e < base:  # within tolerance, and closer than the declared one
                passing.append((e, len(passing), combo, kw2))
                if n > 1:
                    break
        if passing:  # (review s18b: float32 Adam at eps 1e-7 was named AMSGrad, which is
            # Adam until v falls and passed first at float32's tolerance, where Adam did too)
            _, _, combo, kw2 = min(passing, key=lambda p: (p[0], p[1]))
            return [_part(name, kw, kw2, key, label) for key, label in combo]
    return []


def _part(
    name: str, kw: dict[str, Any], kw2: dict[str, Any], key: str, label: str
) -> tuple[str, str, str]:
    """(key, label, fix) of one part, a fitted one's label and fix with its value."""
    if key == "damp_first":  # b = mu b + (1 - tau) g from zero: (1 - tau) times torch's b
        lr, tau = float(kw.get("lr", 1e-3)), float(kw.get("dampening", 0.0))
        return key, label, VARIANT_FIX[key] + DAMP_SAME.format(lr=lr * (1 - tau), mu=kw["momentum"])
    if key == "t_epoch":
        return key, label.format(epoch=kw["_epoch"]), VARIANT_FIX[key]
    if key not in FITTED:
        return key, label, VARIANT_FIX.get(key, key)
    arg = FITTED[key][0]
    declared = _declared(name, kw, arg)
    value = kw2[arg]
    fix = VARIANT_FIX[key].format(value=value, declared=declared)
    return key, label.format(value=value, declared=declared), fix


def _declared(name: str, kw: dict[str, Any], arg: str) -> float:
    """The declared value the fitted ``arg`` departs from."""
    if arg == "eps":
        return float(kw.get("eps", 1e-10 if name == "adagrad" else 1e-8))
    key, default = DECLARED[arg]
    return float(kw.get(key, default))


GRID, GOLDEN = 23, 32  # grid points over the log range, golden-section steps after
# a clip's excess is a staircase (each element changes when the bound crosses it) with a narrow
# well at the bound: a fine grid, zoomed in twice around its best point, then the golden section
FINE, STEPPED, ZOOM = 221, ("clip_value",), 2
MAX_WITH_FIT = 2  # a fitted value joins at most one other departure
# up to this many elements, 30 copies simulated at once cost about two simulations (Python's
# per-operation cost, not arithmetic): the golden section's points 4 steps at a time pay
AT_ONCE_SMALL = 128
EDGE = 1e-3  # a fit within this (log10) of its range's edge is no fit
SAME = math.log10(1.001)  # a fit this near (log10) the declared value is the declared value


def _fit_value(
    name: str,
    kw: dict[str, Any],
    keys: tuple,
    key: str,
    seq: list,
    atol: float,
    rtol: float,
    seg: Tensor | None = None,
) -> float | None:
    """The value of fitted part ``key`` that best reproduces ``seq`` with the parts ``keys``
    (least worst excess over tolerance), or None when it is the declared value itself or on
    the edge of the range searched (the best fit of something the range does not hold)."""
    arg, (lo, hi), value_of = FITTED[key]
    seq, seg = _subsample(seq, seg)  # the fit on a sample; the caller confirms it on all

    def excess(x: float, stop: float = math.inf) -> float:
        return _excess(Sim(name, {**kw, arg: value_of(x)}, keys), seq, atol, rtol, seg, stop)

    def least(xs: list[float]) -> int:  # the first least excess over the grid xs
        if seg is None:
            return _first_least(excess, xs)
        errs = _excess_at(Sim(name, kw, keys), arg, [value_of(x) for x in xs], seq, atol, rtol, seg)
        return min(range(len(xs)), key=lambda j: errs[j])

    grid = FINE if key in STEPPED else GRID
    xs = [lo + (hi - lo) * i / (grid - 1) for i in range(grid)]
    i = least(xs)
    a, b = xs[max(i - 1, 0)], xs[min(i + 1, grid - 1)]
    if key in STEPPED:  # a narrow well between plateaus: zoom in before the golden section
        for _ in range(ZOOM):
            zs = [a + (b - a) * k / (grid - 1) for k in range(grid)]
            j = least(zs)
            a, b = zs[max(j - 1, 0)], zs[min(j + 1, grid - 1)]
    if seg is not None and seg.numel() <= AT_ONCE_SMALL:  # the golden steps 4 at a time
        x = golden_at(lambda xs: _excess_at(Sim(name, kw, keys), arg, [value_of(v) for v in xs],
                                            seq, atol, rtol, seg), a, b, GOLDEN)[0]  # fmt: skip
    else:
        x = golden(excess, a, b, GOLDEN, bounded=True)[0]
    declared = _declared(name, kw, arg)
    if arg == "eps" and x - lo < EDGE and declared > 0:  # below the range: eps left out?
        zero = _excess(Sim(name, {**kw, "eps": 0.0}, keys), seq, atol, rtol, seg, stop=1.0)
        return 0.0 if zero <= 1.0 else None
    if min(x - lo, hi - x) < EDGE:  # on the range's edge: no value in the range fits
        return None
    here = math.log10(declared if arg == "eps" else 1.0 - declared) if 0 < declared < 1 else None
    if here is not None and abs(x - here) <= SAME:  # eps or 1 - beta within 0.1%
        return None
    return value_of(x)


def _first_least(excess: Callable[[float, float], float], xs: list[float]) -> int:
    """The index of the first least ``excess(x)`` over ``xs``; each point is evaluated only up
    to the least so far (``_excess``'s ``stop``): a point cut short lies above it, so the
    index is the one the whole evaluations give."""
    best, at = math.inf, 0
    for i, x in enumerate(xs):
        e = excess(x, best)
        if e < best:
            best, at = e, i
    return at


SAMPLE = 4096  # elements a fit looks at, spread over every parameter


def _subsample(seq: list, seg: Tensor | None) -> tuple[list, Tensor | None]:
    """A flat ``seq`` (``_flat``) cut to at most ``SAMPLE`` elements, evenly spaced within each
    parameter (each keeps some, so its step scale is still its own)."""
    if seg is None or seg.numel() <= SAMPLE:
        return seq, seg
    per = max(SAMPLE // (int(seg[-1]) + 1), 1)
    idx = torch.cat([
        w[torch.linspace(0, len(w) - 1, min(per, len(w))).long()]
        for w in (torch.nonzero(seg == i).flatten() for i in range(int(seg[-1]) + 1))
    ])  # fmt: skip
    cut = [tuple({"_": d["_"][idx]} for d in step) for step in seq]
    return cut, seg[idx]


def _applies(name: str, key: str, kw: dict[str, Any], names: list[str]) -> bool:
    """Whether variant ``key`` can change anything under the declared ``kw`` for parameters
    ``names``."""
    wd = kw.get("weight_decay", 1e-2 if name == "adamw" else 0.0)
    if key == "sgdw":  # the same steps as PyTorch's without momentum
        return bool(wd) and bool(kw.get("momentum"))
    if key == "sgdw_l2":  # the declared l2 (``_l2``, not the optimizer's weight_decay)
        return bool(kw.get("_l2")) and bool(kw.get("momentum"))
    if key in ("no_decay", "decoupled", "coupled", "decay_after", "decay_no_lr", "decay_sign"):
        return bool(wd)
    if key in ("damp_first", "no_dampening"):
        return bool(kw.get("momentum")) and bool(kw.get("dampening"))
    if key in ("nesterov_flip", "ema", "no_momentum", "mu_flip"):
        return bool(kw.get("momentum"))
    if key in ("nesterov_sign", "nesterov_mu2"):
        return bool(kw.get("momentum")) and bool(kw.get("nesterov"))
    if key == "no_lr_decay":
        return bool(of(kw))
    if key == "torch_lr":  # the forms part only under momentum with a changing lr
        return bool(of(kw)) and bool(kw.get("momentum")) and not kw.get("nesterov")
    if key == "t_epoch":  # a pass of two steps or more (the data in mini-batches)
        return kw.get("_epoch", 0) > 1
    if key == "by_shape":  # plain SGD keeps no state to share
        return name != "sgd" or bool(kw.get("momentum"))
    if key in T_COUNTS:  # t counted per unit differs from per step with two units or more
        return len(units(names, frozenset({key}))) > 1
    return True


def _follows(sim: Sim, seq: list, atol: float, rtol: float) -> bool:
    """Whether ``sim`` fed with the gradients of ``seq`` reproduces every post-step weight."""
    return _excess(sim, seq, atol, rtol, stop=1.0) <= 1.0


def _flat(seq: list) -> tuple[list, Tensor | None]:
    """``seq`` with each step's parameters in one flat tensor (key ``"_"``; every variant is
    elementwise), and the parameter index of each element (``seg``), for speed; ``seq``
    itself (seg None) when the steps do not hold the same parameters."""
    names = [n for n in seq[0][2] if n in seq[0][0] and n in seq[0][1]] if seq else []
    if not names or any(set(A) != set(names) or set(G) != set(names) for _, G, A in seq):
        return seq, None
    seg = torch.cat([torch.full((seq[0][2][n].numel(),), i) for i, n in enumerate(names)])
    out = [tuple({"_": torch.cat([d[n].reshape(-1) for n in names])} for d in step) for step in seq]
    return out, seg


def _excess(
    sim: Sim,
    seq: list,
    atol: float,
    rtol: float,
    seg: Tensor | None = None,
    stop: float = math.inf,
) -> float:
    """max |A - Q| / (atol * max |Q - P| + rtol |Q|) over the steps of ``seq``, parameters and
    elements (<= 1: ``sim`` reproduces the learner's post-step weights ``A``); ``seg``: the
    parameter of each element of a flat ``seq`` (``_flat``), whose max |Q - P| it takes.
    ``stop``: once the excess passes it, the steps left are not simulated and a value above
    ``stop`` (not the whole max) is returned: for callers that only ask "at most ``stop``?"."""
    if seg is not None:
        return _excess_flat(sim, seq, atol, rtol, seg, stop)
    worst = 0.0
    for P, G, A in seq:
        if worst > stop:
            return worst
        Q = sim.step(P, G)
        for n in (n for n in A if n in Q):  # (a weight with no gradient takes no step here)
            allowed = atol * max(float((Q[n] - P[n]).abs().max()), 1e-300) + rtol * Q[n].abs()
            e = float(((A[n] - Q[n]).abs() / allowed).max()) if A[n].numel() else 0.0
            worst = max(worst, e if math.isfinite(e) else math.inf)
    return worst


EQUATION = {
    "sgd": "b = mu b + (1 - dampening) g (b = g on the first step), w -= lr * b "
    "(nesterov: w -= lr * (g + mu b)); weight_decay adds wd * w to g first",
    "adam": "m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, "
    "w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)",
    "adamw": "w *= 1 - lr * wd, then m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, "
    "w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)",
    "rmsprop": "s = alpha s + (1 - alpha) g^2, w -= lr * g / (sqrt(s) + eps)",
    "adagrad": "S += g^2, w -= lr * g / (sqrt(S) + eps)",
}


def _cls(name: str) -> str:
    return {
        "sgd": "SGD",
        "adam": "Adam",
        "adamw": "AdamW",
        "rmsprop": "RMSprop",
        "adagrad": "Adagrad",
    }[name]


def per_epoch(
    name: str, kw: dict[str, Any], found: list[tuple[str, str, str]], seq: list, atol: float,
    rtol: float,
) -> list[tuple[str, str, str]]:  # fmt: skip
    """``found`` with "t never incremented" read as t advanced once per pass over the data
    where the steps beyond the window searched (the first pass's) tell the two apart: t_epoch
    follows every step and t_frozen does not (review s16a: deeplearning.ai's ``t = t + 1`` put
    in the epoch loop was said to be never incremented)."""
    keys = [key for key, _, _ in found]
    if "t_frozen" not in keys or not _applies(name, "t_epoch", kw, list(seq[0][2])):
        return found
    other = tuple("t_epoch" if k == "t_frozen" else k for k in keys)
    if _follows(Sim(name, kw, tuple(keys)), seq, atol, rtol) or not _follows(
        Sim(name, kw, other), seq, atol, rtol
    ):
        return found
    labels = dict(VARIANTS.get(name, []))
    return [
        _part(name, kw, kw, "t_epoch", labels["t_epoch"]) if k == "t_frozen" else part
        for k, part in zip(keys, found, strict=True)
    ]
