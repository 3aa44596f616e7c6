"""Naming running statistics that part (``layered_judge`` step 1): the learner's against the
other conventions' updates from the same batch statistics (the old value weighted 1 - momentum
or momentum, the biased or unbiased variance, running_var starting at 0 or 1), and the mean
and variance given the other way round in ``buffers=``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnparity.reference.layered_engine import layer_of

from .layered_decl import LayeredDecl
from .layered_reference import LayeredRef
from .result import Finding

Array = np.ndarray
HYP_RTOL = 1e-6  # a variant reproduces the learner when every tensor is this close


def _close(a: Array, e: Array, scale: float = 0.0) -> bool:
    """Within ``HYP_RTOL`` of ``e`` relative to the larger of ``e``'s and ``scale``."""
    a, e = np.asarray(a, np.float64), np.asarray(e, np.float64)
    if a.shape != e.shape:
        return False
    m = float(np.abs(e).max(initial=0.0))  # NaN where a variant's tensor is: no match
    scale = max(m if np.isfinite(m) else 0.0, scale, 1e-300)
    return bool(np.allclose(a, e, rtol=HYP_RTOL, atol=HYP_RTOL * scale))


def _running(ref, decl, bad, B0, B1, X, P, masks, k, learner) -> list[Finding]:  # noqa: ANN001
    """Which running average the learner's statistics follow, per layer: the weight of the old
    value (1 - momentum as declared, or momentum: read the other way), the variance stored
    (biased or unbiased) and, at a fresh start, running_var starting at 1 or at 0."""
    stats = _batch_stats(ref, P, B0, X, masks)
    out = []
    layers = sorted({int(layer_of(r.tensor)) for r in bad if r.stage == "buffers"})
    for n in layers:
        mean, var, cnt = stats[n]
        mom = _momentum(decl, ref, n)
        fits = []
        for j, before in enumerate(_befores(B0, n)):
            w = _old_weight(B1, before, n, mean)  # (0 to 1: ~0 is the batch's own, below)
            for old in dict.fromkeys((1 - mom, mom, *((w,) if 1e-3 < w < 1 else ()))):
                for biased in (decl.biased, not decl.biased):
                    v = var if biased else var * cnt / max(cnt - 1, 1)
                    rm = old * before[f"running_mean{n}"] + (1 - old) * mean
                    rv = old * before[f"running_var{n}"] + (1 - old) * v
                    if _close(B1[f"running_mean{n}"], rm) and _close(B1[f"running_var{n}"], rv):
                        fits.append((j, old, biased))
        names = (_bpath(learner, f"running_mean{n}"), _bpath(learner, f"running_var{n}"))
        if not fits and _swapped_fit(decl, B0, B1, n, mean, var, cnt):
            out.append(
                Finding(
                    "batchnorm_running",
                    names,
                    n,
                    k,
                    f"batchnorm layer {n}'s running statistics fit the declared update read the "
                    f"other way round: your buffers= gives {names[0]} as the mean, and it "
                    f"holds the variance ({names[1]} the mean)",
                    "buffers=[...] lists running_mean before running_var for each batchnorm",
                )
            )
            continue
        unbiased = var * cnt / max(cnt - 1, 1)
        own = _close(B1[f"running_mean{n}"], mean) and any(
            _close(B1[f"running_var{n}"], v) for v in (var, unbiased)
        )
        if not fits and k == 1 and own:  # the first pass's statistics themselves
            out.append(
                Finding(
                    "batchnorm_running",
                    names,
                    n,
                    k,
                    f"batchnorm layer {n}'s running statistics after the first pass are that "
                    "batch's own mean and variance: they start from the first batch's "
                    "statistics (if running is None: running = batch), not from 0 and 1",
                    "start running_mean at zeros and running_var at "
                    + (
                        "zeros (CS231n's start, as declared)"
                        if decl.running == "cs231n"
                        else "ones (PyTorch's)"
                    )  # fmt: skip
                    + ", and average from there: running = m * running + (1 - m) * batch",
                )
            )
            continue
        if not fits and (alone := _one_parts(B0, B1, n, mean, var, cnt, mom, decl, names, k)):
            out.append(alone)
            continue
        if not fits:
            out.append(
                Finding(
                    "batchnorm_running",
                    names,
                    n,
                    k,
                    f"batchnorm layer {n}'s running statistics fit no running average "
                    "(old value weighted 1 - momentum or momentum, biased or unbiased variance)",
                    "running = m * running + (1 - m) * batch once per training pass, with the "
                    "declared m and variance",
                )
            )
            continue
        j, old, biased = fits[0]
        parts, fix = [], []
        if j:
            parts.append(f"running_var starts at {B0[f'running_var{n}'].flat[0] == 0 and 1 or 0}")
        if old != 1 - mom:
            times = round(np.log(old) / np.log(1 - mom)) if 0 < mom < 1 and old > 0 else 0
            again = times > 1 and abs(old - (1 - mom) ** times) < 1e-9  # n updates a pass
            other = (" (momentum read the other way)" if old == mom else f" = {1 - mom:g}^{times}"
                     f": the update applied {times} times a pass" if again else "")  # fmt: skip
            parts.append(f"the old value weighted {old:g} where {1 - mom:g} is declared{other}")
            fix.append(
                "apply running = m * running + (1 - m) * batch once per training pass"
                if again
                else f"weight the old value by {1 - mom:g}: running = {1 - mom:g} * running + "
                f"{mom:g} * batch; or, if {old:g} is yours, declare batchnorm(momentum="
                f"{1 - old:g}) in the spec (its momentum is PyTorch's, the batch's weight, "
                "under convention='cs231n' too)"
            )
        if biased != decl.biased:
            parts.append(f"the {'biased' if biased else 'unbiased'} variance stored")
        if j and biased != decl.biased:  # both: the other convention as a whole
            conv = "cs231n" if biased else "torch"
            fix.append(
                f"if that is your convention, declare momentum={conv!r} (convention='cs231n': "
                "biased variance, running_var from 0; 'torch': unbiased, from 1)"
            )
        elif biased != decl.biased:
            fix.append(f"declare running_var={'biased' if biased else 'unbiased'!r}")
        elif j:
            fix.append(
                "start running_var as the declared convention does (zeros for 'cs231n', ones "
                "for 'torch'), or declare the convention whose start you use"
            )
        out.append(
            Finding(
                "batchnorm_running",
                names,
                n,
                k,
                f"batchnorm layer {n}'s running statistics follow another convention than "
                f"declared: {', '.join(parts)}",
                "; ".join(fix),
            )
        )
    return out


def _one_parts(B0, B1, n, mean, var, cnt, mom, decl, names, k) -> Finding | None:  # noqa: ANN001
    """The finding where one statistic follows the declared average and the other does not
    (review s51 F9: running_mean's weights swapped, running_var right, blamed both): the
    other named alone, with the old value's weight its own values fit."""
    v = var if decl.biased else var * cnt / max(cnt - 1, 1)
    for before in _befores(B0, n):
        rm = (1 - mom) * before[f"running_mean{n}"] + mom * mean
        rv = (1 - mom) * before[f"running_var{n}"] + mom * v
        ok_m, ok_v = _close(B1[f"running_mean{n}"], rm), _close(B1[f"running_var{n}"], rv)
        if ok_m == ok_v:
            continue
        i, stat, batch = (1, "running_var", v) if ok_m else (0, "running_mean", mean)
        w = _old_weight(B1, before, n, batch, stat)
        fit = w if 0 < w < 1 and _close(
            B1[f"{stat}{n}"], w * before[f"{stat}{n}"] + (1 - w) * batch
        ) else None  # fmt: skip
        how = f"its old value weighted {fit:g}" if fit is not None else "no running average"
        return Finding(
            "batchnorm_running",
            (names[i],),
            n,
            k,
            f"batchnorm layer {n}'s {stat} follows {how}, where {1 - mom:g} r + {mom:g} batch is "
            f"declared, while its {'running_mean' if ok_m else 'running_var'} follows that",
            f"update {names[i]} as the other: running = {1 - mom:g} * running + {mom:g} * batch",
        )
    return None


def _bpath(learner: Any, name: str) -> str:
    """The learner's path of a running statistic (its buffers= entry when a path)."""
    src = dict(zip(learner.decl.buffer_names(), learner.decl.buffers, strict=False)).get(name)
    return src if isinstance(src, str) else name


def _swapped_fit(decl, B0, B1, n, mean, var, cnt) -> bool:  # noqa: ANN001
    from .layered_reference import running_update

    m, v = f"running_mean{n}", f"running_var{n}"
    for before in _befores(B0, n):
        want = running_update(decl, before, n, mean, var, cnt)
        if _close(B1[v], want[m]) and _close(B1[m], want[v]):
            return True
        want = running_update(decl, {**before, m: before[v], v: before[m]}, n, mean, var, cnt)
        if _close(B1[v], want[m]) and _close(B1[m], want[v]):
            return True
    return False


def _old_weight(B1: dict, before: dict, n: int, mean: Array, stat: str = "running_mean") -> float:
    """w in running = w before + (1 - w) batch for ``stat`` (its batch value ``mean``), fitted
    by least squares (0 where it cannot tell: the batch's value is the old one)."""
    a = np.asarray(before[f"{stat}{n}"], np.float64) - np.ravel(mean)
    b = np.asarray(B1[f"{stat}{n}"], np.float64) - np.ravel(mean)
    den = float((a * a).sum())
    return float((a * b).sum() / den) if den > 0 and np.isfinite(den) else 0.0


def _momentum(decl: LayeredDecl, ref: LayeredRef, n: int) -> float:
    return float(ref.twin.module[ref.index[n]].momentum)


def _befores(B0: dict, n: int) -> list[dict]:
    """The statistics before the pass, and, when they are a fresh start, the other fresh
    start (running_var ones as PyTorch, or zeros as CS231n's ``bn_param.get``)."""
    rm, rv = B0[f"running_mean{n}"], B0[f"running_var{n}"]
    if not (np.all(rm == 0) and (np.all(rv == 0) or np.all(rv == 1))):
        return [B0]
    return [B0, {**B0, f"running_var{n}": 1.0 - rv}]


def _batch_stats(ref, P, B0, X, masks) -> dict[int, tuple[Array, Array, int]]:  # noqa: ANN001
    """The batch mean, biased variance and count of each batchnorm's input in the twin."""
    seen: dict[int, Any] = {}
    tw = ref.twin
    hooks = [
        tw.module[i].register_forward_pre_hook(
            lambda mod, args, n=n: seen.__setitem__(n, args[0].detach().numpy())
        )
        for n, i in ref.index.items()
        if ref.kind[n] == "batchnorm"
    ]
    try:
        ref.run(
            P,
            B0,
            X,
            np.zeros(len(X), dtype=np.int64)
            if _class(ref)
            else np.zeros((len(X), ref.decl.spec.out_units)),
            masks,
        )
    finally:
        for h in hooks:
            h.remove()
    out = {}
    for n, x in seen.items():
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        out[n] = (x.mean(axis=axes), x.var(axis=axes), x.size // x.shape[1])
    return out


def _class(ref: LayeredRef) -> bool:
    return ref.decl.spec.loss.name == "cross_entropy"
