"""The closed form of a learning-rate schedule read off one multiplier per step, s_t (the
learner's lr over the twin's): an inverse-time decay, an exponential one, or a staircase (a
fall by one factor every so many steps); with it the declaration (``lr_decay``,
``lr_gamma``, ``lr_step_size``: scratch's ``Schedule``) that takes those steps."""

from __future__ import annotations

import math

from nnparity.scratch.schedules import Schedule

Decl = dict[str, float]  # the declaration: lr_decay, or lr_gamma (and lr_step_size)


def closed_form(
    mults: list[float], steps: list[int], digits: int, tol: float = 1e-9
) -> tuple[str, Decl]:
    """The schedule's closed form when the multipliers follow one: inverse-time (1 / s_t affine
    in t, ``lr / (1 + k t)``, Keras's and nnfs's decay), exponential (a constant ratio per
    step) or a staircase (a constant ratio every s steps, s >= 2), each to ``tol`` (relative:
    float32 steps read their multipliers to about 1e-6); where a small decay fits both of the
    first two, the nearer fit (inverse-time on a tie). With it, the declaration that takes
    these steps, where the first step is 1 at the declared lr (else {})."""
    if min(mults) <= 0 or steps[-1] <= steps[0]:  # a step reversed or zero: no decay
        return "", {}
    inv = [1 / m for m in mults]
    k = (inv[-1] - inv[0]) / (steps[-1] - steps[0])
    line = [inv[0] + k * (t - steps[0]) for t in steps]
    if min(line) <= 0:
        return "", {}
    inv_err = max(abs(a / b - 1) for a, b in zip(inv, line, strict=True))
    r = math.exp(math.log(mults[-1] / mults[0]) / (steps[-1] - steps[0]))
    exp_err = max(
        abs(m / (mults[0] * r ** (t - steps[0])) - 1) for m, t in zip(mults, steps, strict=True)
    )
    at_one = steps[0] == 1 and math.isclose(mults[0], 1.0, rel_tol=tol)
    start = "" if math.isclose(mults[0], 1.0, rel_tol=tol) else f"{mults[0]:.4g} x "
    digits = min(digits, round(-math.log10(tol)))  # no more digits than the steps hold
    exact = min(15, 1 + round(-math.log10(tol / (steps[-1] - steps[0]))))  # a declaration's:
    # the span's fit holds its constant to tol / span (review s43 F2: 4 digits never matched)
    if k and inv_err <= tol and inv_err <= exp_err:
        decl = {"lr_decay": _round(k / inv[0], exact)} if not start and k > 0 else {}
        return f" (lr / (1 + {k / inv[0]:.4g} (t-1)): an inverse-time decay)", decl
    if exp_err <= tol and r != 1:
        decl = {"lr_gamma": _round(r, exact)} if at_one else {}
        return f" (lr x {start}{r:.{digits}g}^(t-1): an exponential decay)", decl
    return _staircase(mults, steps, digits, tol, at_one)


def _round(v: float, digits: int) -> float:
    return float(f"{v:.{digits}g}")


def _staircase(
    mults: list[float], steps: list[int], digits: int, tol: float, at_one: bool
) -> tuple[str, Decl]:
    """A fall by one ratio r at steps c, c + s, c + 2s, ... of consecutive steps (r every s
    steps from step 1 where (c - 1) is a multiple of s: PyTorch's StepLR)."""
    if any(b != a + 1 for a, b in zip(steps, steps[1:], strict=False)):
        return "", {}
    runs = [(steps[0], mults[0])]  # (first step, multiplier) of each run of one value
    for t, m in zip(steps[1:], mults[1:], strict=True):
        if not math.isclose(m, runs[-1][1], rel_tol=tol):
            runs.append((t, m))
    if len(runs) < 2:
        return "", {}
    r = runs[1][1] / runs[0][1]
    if any(
        not math.isclose(b / a, r, rel_tol=tol)
        for (_, a), (_, b) in zip(runs, runs[1:], strict=False)
    ):
        return "", {}
    falls = [t for t, _ in runs[1:]]
    gaps = {b - a for a, b in zip(falls, falls[1:], strict=False)}
    s = gaps.pop() if gaps else falls[0] - 1 if at_one else 0
    if gaps or s < 2 or (falls[0] - 1) % s or falls[0] - steps[0] > s:  # one gap, s >= 2
        return "", {}
    exact = min(15, 1 + round(-math.log10(tol / len(runs))))  # each run's ratio to tol
    decl = {"lr_gamma": _round(r, exact), "lr_step_size": s} if at_one else {}
    if len(falls) == 1:  # one fall seen: a step decay if it falls again s steps on
        fall = "fall" if r < 1 else "rise"
        said = (
            f" (lr x {r:.{digits}g} from step {falls[0]}: one {fall} seen, a step schedule of "
            f"every {s} steps if it {fall}s again at step {falls[0] + s})"
        )
        return said, decl
    return f" (lr x {r:.{digits}g} every {s} steps, from step {falls[0]}: a step decay)", decl


def declaration(decl: Decl) -> str:
    """``decl`` as the user writes it: lr_gamma=0.5, lr_step_size=10."""
    return ", ".join(f"{k}={v!r}" for k, v in decl.items())


def sched_decl(sched: Schedule) -> Decl:
    """A declared ``Schedule``'s options other than their defaults."""
    pairs = zip(("lr_decay", "lr_gamma", "lr_step_size"), sched, Schedule(), strict=True)
    return {k: v for k, v, default in pairs if v != default}


def described(decl: Decl) -> str:
    """What the declaration means, and whose it is."""
    said = []
    if "lr_decay" in decl:
        said.append(
            "lr / (1 + lr_decay (t-1)): the nnfs book's and Keras's decay, PyTorch's Adagrad "
            "lr_decay"
        )
    if "lr_gamma" in decl:
        said.append(
            "lr lr_gamma^((t-1) // lr_step_size): PyTorch's StepLR, ExponentialLR where "
            "lr_step_size is 1, Keras's ExponentialDecay with staircase=True"
        )
    return "; times ".join(said)


def torch_form(decl: Decl) -> str:
    """The PyTorch scheduler that takes ``decl``, stepped after each optimizer step."""
    if "lr_decay" in decl:
        return f"LambdaLR(lambda n: 1 / (1 + {decl['lr_decay']:.4g} n))"
    s = int(decl.get("lr_step_size", 1))
    g = f"{decl['lr_gamma']:.4g}"
    return f"StepLR(step_size={s}, gamma={g})" if s > 1 else f"ExponentialLR(gamma={g})"
