"""Before the training probe claims a limitation of the network: the causes that leave the
network as it is, each shown by a run that fits once it is removed.

- ``target_range``: targets outside what the output activation can produce (a sigmoid output
  and -1/+1 labels): read off the data, no run;
- ``input_scale``: inputs far from unit scale (a feature's size, the larger of its |mean| and
  its spread, beyond ``FAR`` or below 1 / ``FAR``: metres of 1e-3 as much as pixels of 255); the
  same network fits them standardised, (X - mean) / std per feature, an affine map that folds
  into the first layer's weights and biases, so the network can represent the raw data too;
- ``target_scale``: regression targets far from unit scale; the same network fits y / std(y)
  (a scale that folds into the last layer);
- ``local_minimum``: neither run fits from the learner's weights, and the strong run fits from
  a fresh random initialisation (PyTorch's default, seeds 0 and 1; up to 16 on tiny data);
- ``learning_rate``: units die or saturate during the declared run (not at its start), and
  the same run with lr / 10 fits; or the declared full-batch run's loss rises at more than
  ``RISING`` of its steps (it oscillates), and the same run with lr / 3 or lr / 10 fits.

Each run is the caller's ``train`` (it keeps within the check's time); the first that fits
names the cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from nnparity.scratch import Spec, build, optimizers
from nnparity.scratch.spec_choice import choice

from .conventions import lr_of
from .criteria import criterion
from .result import Finding
from .run_on import continued, stopped

STRONG_STEPS = 2000  # the strong run's (limitations)
LOWERS = (10, 100, 1e3, 1e4)  # the declared lr's divisors tried where the run blows up
RAISES = tuple(10.0**k for k in range(1, 13))  # the declared lr's multipliers (``slower``)
RISING = 0.25  # a full-batch loss that rises at this share of steps oscillates
FAR = 10.0  # a feature's (or target's) mean or std beyond this is far from unit scale
RANGE = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, np.inf),
    "softplus": (0.0, np.inf),
    "softmax": (0.0, 1.0),
}
Train = Callable[..., Any]  # train(spec, P, batches, steps, fits) -> Trained


def range_note(rng: Finding) -> Finding:
    """``target_range`` as a note where outputs inside the range would still fit (s61a F5)."""
    said = "; but outputs held inside the range would still fit your targets: no cause here"
    hint = "nothing to change for them; " + rng.hint + " if you want them reached exactly"
    return replace(rng, kind="note", evidence=rng.evidence + said, hint=hint)


def target_range(spec: Spec, y: np.ndarray) -> Finding | None:
    """Targets beyond the range of the output activation, where no weights can reach them."""
    last = spec.activations[-1].name
    if last not in RANGE or not np.issubdtype(np.asarray(y).dtype, np.floating):
        return None
    lo, hi = RANGE[last]
    ymin, ymax = float(np.min(y)), float(np.max(y))
    if lo <= ymin and ymax <= hi:
        return None
    out = f"({lo:g}, {hi:g})" if np.isfinite(hi) else f"[{lo:g}, inf)"
    return Finding(
        "target_range",
        (),
        spec.n_layers,
        None,
        f"your targets run from {ymin:.4g} to {ymax:.4g}, and a {last} output lies in {out}: "
        "no weights reach the targets outside it, whatever the network's size",
        _range_fix(np.asarray(y, dtype=np.float64), last, lo, hi),
        "limitation",
    )


def _range_fix(y: np.ndarray, last: str, lo: float, hi: float) -> str:
    """The fix for targets outside (lo, hi), by what the targets are: -1/+1 labels, class
    labels 0..K-1, or values to rescale."""
    values = np.unique(y)
    other = "or an output activation whose range holds them (identity"
    if values.size <= 2 and set(values.tolist()) <= {-1.0, 1.0} and hi == 1.0:
        return f"map the -1/+1 labels to 0/1, y = (y + 1) / 2, {other}, tanh for -1/+1)"
    if values.size > 2 and values.size <= 100 and np.array_equal(values, np.arange(values.size)):
        return (f"your targets look like class labels 0..{values.size - 1}: give the network one "
                f"output per class with a softmax and cross-entropy on the labels (one-hot "
                f"targets), or, for a number to predict, an identity output")  # fmt: skip
    if np.isfinite(hi):
        return (f"scale the targets into ({lo:g}, {hi:g}), e.g. (y - min) / (max - min)"
                f"{' * 2 - 1' if lo < 0 else ''} (undo it on the outputs), {other})")  # fmt: skip
    return f"shift the targets to >= {lo:g}, {other})"


def _far(a: np.ndarray) -> float:
    """How many times off unit scale the columns of ``a`` are: each column's size s, the larger
    of its |mean| and std, counts as max(s, 1 / s) (an all-zero column not at all); the
    largest over the columns."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    s = np.maximum(np.abs(a.mean(0)), a.std(0))
    s = s[s > 0]
    return float(np.maximum(s, 1 / s).max(initial=1.0))


def _standardise(
    a: np.ndarray, centre: bool = True
) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """(x -> (x - mean) / std per feature of ``a``, in x's dtype; what the scale was). Without
    ``centre`` (a first layer with no bias, which cannot absorb a shift) x / rms per feature:
    only a linear map folds into its weights."""
    flat = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    mean, std = flat.mean(0), flat.std(0)
    said = f"means up to {np.abs(mean).max():.4g}, spreads up to {std.max():.4g}); "
    said += "standardised per feature, (X - mean) / std"
    if not centre:
        mean, std = np.zeros_like(mean), np.sqrt((flat * flat).mean(0))
        said = said.replace(
            "standardised per feature, (X - mean) / std",
            "scaled per feature, X / rms (not centred: a first layer without bias takes no shift)",
        )
    std = np.where(std > 0, std, 1.0)

    def f(x: np.ndarray) -> np.ndarray:
        out = (np.asarray(x, dtype=np.float64).reshape(len(x), -1) - mean) / std
        return out.reshape(np.shape(x)).astype(x.dtype)

    return f, said


def remedies(
    train: Train,
    spec: Spec,
    strong_spec: Spec,
    P0: dict,
    X: np.ndarray,
    y: np.ndarray,
    batches: list,
    steps: int,
    strong_steps: int,
    strong_fit: bool,
    found: list[Finding],
    losses: Any = (),
) -> list[Finding]:
    """The first cause among input_scale, target_scale and learning_rate that a run shows
    (see the module), as findings; [] when none does. ``losses``: the declared run's."""
    crit = criterion(spec, y)
    score = crit.score
    x_far = _far(X) > FAR
    if x_far:  # the runs that failed on the raw inputs, on standardised ones
        std, said = _standardise(X, centre=bool(spec.bias))
        runs = [(spec, steps, batches)]  # the declared run; the strong one where it failed
        runs = runs if strong_fit else [(strong_spec, strong_steps, [(X, y)]), *runs]
        for s, n, b in runs:
            run = train(s, P0, [(std(Xb), yb) for Xb, yb in b], n, crit.fits)
            if run.fit:
                return [_input_found(said, f"with {s.opt} in {run.steps} steps: {score(run.out)}")]
    if crit.text.startswith("R^2") and _far(y) > FAR:
        sy = float(np.std(y)) or 1.0
        ys = (np.asarray(y, dtype=np.float64) / sy).astype(y.dtype)
        scaled = criterion(spec, ys)
        run = train(strong_spec, P0, [(X, ys)], strong_steps, scaled.fits)
        how = f"with {strong_spec.opt} in {run.steps} steps: {scaled.score(run.out)}"
        if not run.fit and x_far:  # both off scale: both changes at once
            run = train(strong_spec, P0, [(std(X), ys)], strong_steps, scaled.fits)
            how = f"with {strong_spec.opt} in {run.steps} steps: {scaled.score(run.out)}"
            if run.fit:
                return [
                    _input_found(said, "with the targets scaled too (below) " + how),
                    _target_found(sy, "with the inputs standardised too (above) " + how),
                ]
        if run.fit:
            return [_target_found(sy, how)]
    grown = [
        f
        for f in found
        if f.code in ("dead_units", "saturation") and not f.evidence.startswith("at the start")
    ]
    lr = lr_of(spec.opt)
    rising = float(np.mean(np.diff(losses) > 0)) if len(losses) > 1 else 0.0
    if lr and not grown and len(batches) == 1 and rising > RISING:  # it oscillates: too large?
        for c in (3, 10):
            slow = at_lr(spec, lr / c)
            run = train(slow, P0, batches, steps, crit.fits)
            if run.fit:
                return [
                    _found(
                        "learning_rate",
                        f"the declared run's loss rises at {rising:.0%} of its steps (it "
                        f"oscillates); with lr = {float(lr) / c:g} the same run fits in "
                        f"{run.steps} steps: {score(run.out)}",
                        f"lower the learning rate (lr = {float(lr) / c:g} fits)",
                    )
                ]
    grows = any(f.code == "learning_rate" for f in found)  # the declared run's loss grows
    if (grown or grows) and lr:  # lr / 10, / 100, ...: the first that fits is said (s22b)
        for c in LOWERS:
            slow = at_lr(spec, lr / c)
            run = train(slow, P0, batches, steps, crit.fits)
            if not run.fit:
                continue
            fits = f"with lr = {float(lr) / c:g} the same run fits in {run.steps} steps"
            if not grown:
                return [
                    _found(
                        "learning_rate",
                        f"{fits}: {score(run.out)}",
                        f"lower the learning rate (lr = {float(lr) / c:g} fits)",
                    )
                ]
            what = "die" if grown[0].code == "dead_units" else "saturate"
            return [
                _found(
                    "learning_rate",
                    f"units {what} during the declared run (not at its start: "
                    f"{grown[0].evidence.split(':')[0]}); {fits}: {score(run.out)}",
                    f"lower the learning rate (lr = {float(lr) / c:g} fits; the steps push the "
                    "units out of range)",
                )
            ]
    return []


TINY_STARTS, CHEAP_STARTS = 2_000, 20_000  # rows x weights: 16 fresh starts, then 4, else 2


def fresh_start(
    train: Train,
    spec: Spec,
    strong_spec: Spec,
    X: np.ndarray,
    y: np.ndarray,
    steps: int,
    frozen: set[str],
    many: Callable[..., list | None] | None = None,
) -> list[Finding]:
    """``local_minimum`` where the strong run fits from a fresh random initialisation (asked
    once neither the strong run nor the longer declared one fits from the learner's start).
    ``many(spec, starts, batches, steps, fits)``: the runs from every start at once
    (``many_starts``), or None: then one at a time, up to the first that fits."""
    crit = criterion(spec, y)
    score = crit.score
    weights = sum(a * b for a, b in zip(spec.sizes[:-1], spec.sizes[1:], strict=True))
    cost = len(X) * weights  # a 2-2-1 relu XOR fits from 3 fresh starts in 20
    seeds = range(16 if cost <= TINY_STARTS else 4 if cost <= CHEAP_STARTS else 2)
    starts = []
    for seed in seeds:
        fresh = build(spec).init_params(seed=seed)
        fresh.update({n: np.zeros_like(fresh[n]) for n in frozen})
        starts.append(fresh)
    runs = many(strong_spec, starts, [(X, y)], steps, crit.fits) if many else None
    if runs is None:
        runs = (train(strong_spec, P, [(X, y)], steps, crit.fits) for P in starts)
    for seed, run in zip(seeds, runs, strict=False):
        if run.fit:
            return [
                _found(
                    "local_minimum",
                    f"from your initial weights neither run fits; "
                    f"from a fresh random initialisation (PyTorch's default, seed {seed}) "
                    f"the same {strong_spec.opt} run fits in {run.steps} steps: "
                    f"{score(run.out)}",
                    "re-initialise the weights (another seed, or "
                    "PyTorch's default init): your start settles where it cannot fit",
                )
            ]
    return []


def _input_found(said: str, how: str) -> Finding:
    return _found(
        "input_scale",
        f"your inputs are far from unit scale ({said}, the same network fits {how}",
        "standardise the inputs (keep the training mean and std for new data; a constant "
        "column, whose std is 0, divided by 1); the network itself can represent them",
    )


def _target_found(sy: float, how: str) -> Finding:
    return _found(
        "target_scale",
        f"your targets are far from unit scale (std {sy:.4g}); divided by it, the same network "
        f"fits {how}",
        f"scale the targets (y / {sy:.4g}) and the predictions back; the network itself can "
        "represent them",
    )


def at_lr(spec: Spec, lr: float) -> Spec:
    """``spec`` with its optimizer at learning rate ``lr``, the rest as declared."""
    return spec.replace(
        opt=choice(optimizers, spec.opt.name, **{**dict(spec.opt.kwargs), "lr": lr})
    )


def _found(code: str, evidence: str, hint: str) -> Finding:
    return Finding(code, (), None, None, evidence, hint, "limitation")


def slower(
    train: Train,
    spec: Spec,
    after: dict,
    P0: dict,
    batches: list,
    steps: int,
    fits: Any,
    score: Any,
    seconds: float | None,
    times: int = 4,
) -> tuple[str, str, bool]:
    """Where the strong run fits and the declared one does not, which fix is true: the
    declared run on for ``times`` times its budget (train longer), the declared run with lr x
    10 or x 100 from the start (raise the learning rate), else another optimizer. (evidence,
    fix, whether a run of the declared optimizer fits)"""
    on = train(continued(spec, steps), after, batches, times * steps, fits, seconds=seconds)
    its = " (its lr schedule run on)" if continued(spec, steps) is not spec else ""
    if on.fit or fits(on.out):  # (fitting at its end, where time cut the hold it needs)
        return (
            f"; the same {spec.opt} run on for {on.steps} more steps{its} fits too: "
            f"{score(on.out)}",
            "train longer, or raise the learning rate",
            True,
        )
    said = f"; the same {spec.opt} run on for {on.steps} more steps{its} reaches {score(on.out)}"
    if stop := stopped(spec, steps):  # the schedule took the lr to ~0 (review s46 F3)
        return f"{said}{stop[0]}", stop[1], False
    if raised := raised_lr(train, spec, P0, batches, steps, fits):
        lr, run = raised
        return (
            f"{said}; with lr = {lr:g} it fits in {run.steps} steps: {score(run.out)}",
            f"raise the learning rate (lr = {lr:g} fits)",
            True,
        )
    plain = spec.opt.name == "sgd" and not spec.opt.kwargs.get("momentum")
    fix = (
        "use momentum or Adam: plain SGD at this learning rate does not get there"
        if plain
        else "change the optimizer's settings: the strong run above fits from the same weights"
    )
    return said, fix, False


LR_CEILING = 10.0  # past x 100, raised up to this lr (Nielsen's network.py trains at eta 3)


def raised_lr(
    train: Train, spec: Spec, P0: dict, batches: list, steps: int, fits: Any
) -> tuple[float, Any] | None:
    """(lr, run): the declared run from ``P0`` at lr x 10, x 100, then further powers of ten
    up to ``LR_CEILING`` (an lr 1e4 times too small, 1e-5 where 0.1 fits, is raised, not
    another optimizer: review s19b, s22b; s32 F6: eta 0.003 where 3 fits), the first that
    fits; None when none does before a run diverges."""
    lr = lr_of(spec.opt)
    for c in RAISES if lr else ():
        if c > 100 and lr * c > LR_CEILING * (1 + 1e-9):
            break
        run = train(at_lr(spec, lr * c), P0, batches, steps, fits)
        if not run.losses or not np.isfinite(run.losses[-1]):
            break  # diverged: a larger step will not fit
        if run.fit:
            return lr * c, run
    return None


def no_bias(
    ref: Any,
    strong_spec: Spec,
    P0: dict,
    frozen: set[str],
    X: np.ndarray,
    y: np.ndarray,
    fits: Any,
    score: Any,
    seconds: float | None,
) -> list[Finding]:
    """``no_bias`` where the strong run (``strong_spec``, which failed) with a bias in every
    layer, zero at the start, fits from the learner's weights (``frozen``: biases held at 0)."""
    spec = strong_spec.replace(bias=True)
    P = {**P0}
    for l in range(1, spec.n_layers + 1):
        if f"b{l}" not in P0 or f"b{l}" in frozen:
            P[f"b{l}"] = np.zeros(spec.sizes[l])
    run = ref.train(spec, P, [(X, y)], STRONG_STEPS, set(), fits, seconds=seconds)
    if not run.fit:
        return []
    return [
        _found(
            "no_bias",
            f"with a bias in every layer (zero at the start) the same {strong_spec.opt} run "
            f"fits in {run.steps} steps: {score(run.out)}",
            "add a bias to every layer (z = a_prev @ W + b)",
        )
    ]
