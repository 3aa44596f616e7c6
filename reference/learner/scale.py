"""Scale findings: a gradient (or step) that is one constant c times PyTorch's. ``sign_flip``
when c < 0, ``scale_factor`` when |c| != 1, with every name of the factor that fits (N, 1/N,
2, D, H ...) and one fix per name; a factor first seen after steps that agreed is not named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .conventions import lr_of
from .evidence import StepData
from .factors import Fit, fit, step_names
from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec

Tensor = torch.Tensor
IN_BACKWARD = (
    "the loss value you return is the declared loss's, so the factor is in your backward pass, "
    "not in what you declare: a term counted twice or halved, a 1/N missing or applied twice, "
    "= where += was meant; compare your gradient with the loss you compute, term by term"
)


def divisor(c: float, rows: int) -> int | None:
    """K when c = rows / K for a whole K > rows (to 1e-9), below ten million (beyond, any
    number is within 1e-9 of a whole one): a mean over K rows."""
    if rows < 2 or not 0 < c < 1:
        return None
    k = rows / c
    r = round(k)
    return r if rows < r < 1e7 and abs(k - r) <= 1e-9 * k else None


def _lr_power(c: float, lr: float) -> str:
    """The fix where a step's factor c is the declared lr itself (lr applied twice) or 1 / lr
    (lr left out), to 1e-6; else ""."""
    if lr != 1 and abs(c - lr) <= 1e-6 * lr:
        return (
            f"c = lr = {lr:g}: your update applies the learning rate twice (w += lr * v where v "
            "already holds lr * g, or lr * lr * g): apply it once"
        )
    if lr != 1 and abs(c * lr - 1) <= 1e-6:
        return f"c = 1/lr = {c:g}: your update leaves out the learning rate (w -= g): w -= lr * g"
    return ""


def averaged_momentum(spec: Spec, c: float | None) -> str | None:
    """The fix where every step is c = 1 - momentum times declared SGD momentum's: a momentum
    that averages the gradients from zero (Ng's course), PyTorch's with lr (1 - momentum)."""
    kw = spec.opt.kwargs
    mu, lr = float(kw.get("momentum", 0.0) or 0.0), float(kw.get("lr", 0.0) or 0.0)
    if spec.opt.name != "sgd" or c is None or not 0 < mu < 1 or kw.get("dampening"):
        return None
    if abs(c - (1 - mu)) > 1e-6 or kw.get("nesterov"):
        return None
    return (
        f"c = 1 - momentum: your momentum averages the gradients (v = {mu:g} v + {1 - mu:.4g} "
        f"g; w -= lr v: Ng's course), whose steps are PyTorch's SGD momentum with lr (1 - "
        f"momentum): declare lr={lr * (1 - mu):.6g}"
    )


def adam_constants(spec: Spec) -> list[tuple[float, str, str]]:
    """(c, name, fix) of the constant step factors a slip in a moving average makes, for as
    long as eps is small beside sqrt(v_hat). Adam's betas swapped: m = b1 m + (1 - b2) g scales
    m by (1 - b2) / (1 - b1), v = b2 v + (1 - b1) g^2 the step by sqrt((1 - b2) / (1 - b1)).
    A beta written for its complement, m = b1 m + b1 g, scales m by b1 / (1 - b1), and
    v = b2 v + b2 g^2 (RMSprop's v = a v + a g^2 too) the step by sqrt((1 - b2) / b2). []
    for another optimizer."""
    kw = spec.opt.kwargs
    name = spec.opt.name
    if name == "rmsprop":
        a = float(kw.get("alpha", 0.99))
        fix = f"v's moving average takes alpha g^2: write v = {a:g} v + {1 - a:.4g} g^2"
        return [(((1 - a) / a) ** 0.5, "sqrt((1 - alpha) / alpha)", fix)] if 0 < a < 1 else []
    b1, b2 = float(kw.get("beta1", 0.9)), float(kw.get("beta2", 0.999))
    if name not in ("adam", "adamw") or not (0 < b1 < 1 and 0 < b2 < 1):
        return []
    m_right = f"write m = {b1:g} m + {1 - b1:.4g} g"
    v_right = f"write v = {b2:g} v + {1 - b2:.4g} g^2"
    m_own = f"m's moving average takes beta1 g where (1 - beta1) g belongs: {m_right}"
    v_own = f"v's moving average takes beta2 g^2 where (1 - beta2) g^2 belongs: {v_right}"
    p, q = b1 / (1 - b1), ((1 - b2) / b2) ** 0.5
    out = [
        (p, "beta1 / (1 - beta1)", m_own),
        (q, "sqrt((1 - beta2) / beta2)", v_own),
        (p * q, "beta1 / (1 - beta1) sqrt((1 - beta2) / beta2)", f"{m_own}; and {v_own}"),
    ]
    if b1 == b2:
        return out
    r = (1 - b2) / (1 - b1)
    m_fix = f"m's moving average takes (1 - beta2) g: {m_right}"
    v_fix = f"v's moving average takes (1 - beta1) g^2: {v_right}"
    return [
        (r, "(1 - beta2) / (1 - beta1)", m_fix),
        (r**0.5, "sqrt((1 - beta2) / (1 - beta1))", v_fix),
        (r**1.5, "((1 - beta2) / (1 - beta1))^1.5", f"{m_fix}; and {v_fix}"),
        *out,
    ]


COMPOUND = (
    "a 1/N applied at each layer on the way down: the gradient handed to the layer below "
    "carries the loss's 1/N already (dA_prev = W.T @ dZ, not 1/m * W.T @ dZ): divide once, at "
    "the loss's gradient"
)


def scale_hint(
    factor: str | None,
    implied: bool,
    c: float | None = None,
    lr: float | None = None,
    loss: str = "",
    backward: bool = False,
    rows: int = 0,
    outputs: int = 1,
    summed: bool = False,
) -> str:
    """One fix per name that fits the factor (``"2 = D"``: both); for a step that shows no
    gradient, a learning rate other than the declared one first. ``loss``: the declared loss
    when the factor is on every weight (a factor of the loss's), else "" (of some layers).
    ``backward``: the loss value the learner returns is the declared loss's, so the factor is
    in its backward pass (declaring another loss would only move the mismatch). ``rows``: the
    batch's, for an unnamed c = rows / K, a divisor of K rows (``divisor``), said first.
    ``outputs``: D; a sum over the samples is declarable as reduction='sum' only where that
    sums nothing else (mse and bce with D > 1 sum over the outputs too). ``summed``: the
    declared reduction is 'sum' (a 1/N is then an average; else a second division by N)."""
    hints: list[str] = []
    twice = implied and c is not None and lr and _lr_power(c, lr)
    if twice:  # c = lr or 1 / lr: the learning rate's own number, not a count of rows
        hints.append(twice)
    k = divisor(c, rows) if factor is None and c is not None and not twice else None
    if k:  # a count other than the batch's
        hints.append(
            f"c = {rows}/{k}: your gradient divides by {k} where this batch has {rows} rows (a "
            "count taken elsewhere: the rows before a train/dev split, another batch's size): "
            "divide by the rows of this batch, len(X)"
        )
    if any(f.strip().lstrip("-") in ("1/N^2", "1/N^3") for f in (factor or "").split(" = ")):
        hints.append(COMPOUND)  # (review s24a F2: read as "a count of 8000 rows", an lr)
    step_lr = implied and c is not None and lr and c > 0 and "N/B" not in (factor or "")
    if backward and not step_lr and "N/B" not in (factor or ""):
        return "; or ".join([*hints, IN_BACKWARD])
    if step_lr:
        hints.append(
            f"your step is {c:.4g} times the declared one: if your update uses lr = {c * lr:.4g}, "
            f"declare lr={c * lr:.4g}"
        )
    for f in (factor or "").split(" = "):
        f = f.strip().lstrip("-")
        if f == "N":
            h = "your gradient sums over the batch where the declared loss averages: divide by N"
            if loss and not (loss in ("mse", "bce", "bce_with_logits") and outputs > 1):
                h += ", or declare reduction='sum'"
            elif loss:
                h += (
                    f" ({loss} with reduction='sum' would sum over the {outputs} outputs too, "
                    "where your gradient averages them: no declaration takes that form)"
                )
        elif f == "1/N" and summed:
            h = "your gradient averages where the declared loss sums: drop the 1/N" + (
                ", or declare reduction='mean'" if loss else " (only these layers divide)"
            )
        elif f in ("1/N^2", "1/N^3"):
            continue  # (COMPOUND, said first)
        elif f == "1/N":
            h = (
                "you divide by N twice: the gradient of a mean loss holds its 1/N already, and "
                "a second division (in the gradient, or an update dividing by the batch size as "
                "d2l's sgd does for its summed loss) leaves 1/N of the step: divide once"
            )
        elif f == "1/2" and loss == "mse" and outputs > 1:
            h = (
                f"your loss is half of mse (1/2 of the mean over all N*{outputs} entries), "
                "which no loss declares (half_sse and sse average over the samples only): "
                "drop the 1/2"
                + (", or declare mse with half your lr (the same SGD steps)" if implied else "")
            )
        elif f in ("2", "1/2") and loss in ("mse", "half_sse", "sse"):
            over = (
                "summed over the samples (reduction='sum')"
                if summed
                else "averaged over the samples"
            )
            h = (
                "a factor 2 between 1/2 ||a - y||^2 (half_sse) and ||a - y||^2 (sse), each "
                f"{over}: declare the loss you differentiate, or fix the constant"
            )
        elif f in ("2", "1/2"):
            h = "a term counted twice (or half of it) in these gradients: compare them term by term"
        elif "D" in f and loss in ("mse", "half_sse", "sse"):
            h = (
                "mse averages (a - y)^2 over all N*D elements, sse and half_sse sum it over the "
                "outputs and average over the N samples: declare the loss you use"
            )
        elif "D" in f and loss in ("bce", "bce_with_logits"):
            h = (
                f"{loss} averages over all N*D entries (PyTorch's and Keras's convention), your "
                "gradient over the N samples only: if you sum over the outputs on purpose "
                "(Nielsen's cross-entropy cost), declare reduction='batch'; if not, divide by "
                "Y.size (N*D), not len(Y)"
            )
        elif f == "1/D" and loss in ("cross_entropy", "nll"):
            h = (
                f"your cross-entropy averages over all N*{outputs} entries of the one-hot array "
                "(np.mean(-Y * log p), or (p - Y) / Y.size), where it sums over the classes and "
                "averages over the N samples: np.sum(-Y * log p) / N and (p - Y) / N"
            )
        elif f.startswith("N/M"):
            h = (
                "your gradient divides by the rows of the whole data set (m = X_train.shape[0] "
                "taken once): divide by the rows of this batch, len(X) of each call"
            )
        elif f.startswith("N/B"):
            h = (
                "your gradient divides by the full batch size where a shorter batch (the last) "
                "has fewer rows: divide by the rows of this batch, len(X)"
            )
        elif "H" in f:
            h = "a layer width crept in as a normaliser: remove it"
        elif f in ("N/2", "N*D/2") and loss == "mse":  # the loss's reading before an lr's
            h = (
                "your gradient is of 1/2 the squared error summed over the batch where mse "
                "averages it: declare loss='half_sse' with reduction='sum' (the error y - a "
                "of many tutorials, applied at lr 1)"
            )
            hints.insert(0, h)
            continue
        else:
            continue
        if h not in hints:
            hints.append(h)
    if not hints:
        what = "update" if implied else "gradient"
        return f"your {what} is a constant times PyTorch's: look for a missing or extra factor"
    return "; or ".join(hints)


def late_factor(
    k: str, label: str, step: int, f: Fit, n: int | tuple, d: int, span: str, layer: int
) -> Finding:
    """``unexplained_mismatch`` for a gradient that agreed with PyTorch's before ``step`` and
    is a constant times it from there: a factor of the code would show from step 1."""
    return Finding(
        "unexplained_mismatch",
        (label,),
        layer,
        step,
        f"{k} agrees with PyTorch's at step{f's 1-{step - 1}' if step > 2 else ' 1'} and "
        f"parts from step {step}, where "
        f"{f.text(n, d)}{span}: a constant factor in the code would show from step 1, so "
        "no factor is named (what changes at that step? the batch size, a schedule?)",
        "print your gradient beside PyTorch's at that step and the one before, and what "
        "differs between them (len(X), a divisor, the learning rate)",
    )


def scale_findings(
    group: list[tuple[str, Fit]],
    codec: Codec,
    failing: dict[str, int],
    n: int | tuple,
    d: int,
    span: str,
    spec: Spec,
    implied: bool,
    what: str = "",
    backward: bool = False,
) -> list[Finding]:
    """``sign_flip`` and/or ``scale_factor`` for parameters sharing one factor (``backward``:
    see ``scale_hint``)."""
    out = []
    ks = [k for k, _ in group]
    f = group[0][1]
    names = codec.labels(ks)
    first = min(failing[k] for k in ks)
    ev = f"{f.text(n, d)} on {', '.join(names)}{what}{span}"
    whole = all(f"W{l}" in ks for l in range(1, len(spec.sizes)))  # every layer's weight
    if f.c < 0:
        out.append(
            Finding(
                "sign_flip",
                names,
                None,
                first,
                ev,
                (UPHILL + ("" if whole else UPHILL_SOME))
                if implied
                else "your gradient has the wrong sign (y - a where a - y is meant); if your "
                "update adds it (w += lr * d, as some tutorials write descent), the pair is "
                "right: return -d, or check the whole step with from_step, which holds your "
                "update and gradient together",
            )
        )
    if abs(abs(f.c) - 1) > 1e-12:
        lr = lr_of(spec.opt)
        loss = spec.loss.name if whole else ""
        rows = n if isinstance(n, int) else 0
        # some weights step at the declared lr, or the factor changes from step to step (N
        # of a shorter batch): no one lr for all fits, and none is offered (review s25f F2-3)
        steady = not f.cs or max(f.cs) - min(f.cs) <= 1e-9 * max(abs(v) for v in f.cs)
        lr = float(lr) if lr and whole and steady else None
        summed = spec.loss.kwargs.get("reduction") == "sum"
        hint = scale_hint(f.factor, implied, f.c, lr, loss, backward, rows, spec.sizes[-1], summed)
        hint = "; ".join(filter(None, (averaged_momentum(spec, f.c), hint)))
        out.append(Finding("scale_factor", names, None, first, ev, hint))
    return out


UPHILL = (  # a step that climbs the loss, whichever convention the code writes its update in
    "your step moves these weights up the loss (along +dL/dw): flip the sign of their update "
    "line or of the gradient that line uses (w -= lr * dL/dw, or w += lr * d with d = -dL/dw, "
    "y - a)"
)
UPHILL_SOME = (
    "; your other parameters step downhill, so compare this layer's update and gradient lines "
    "with theirs: one of the two has the opposite sign (`-=` where the others write `+=`, or "
    "the reverse)"
)


def explain_total_scale(
    steps: list[StepData],
    codec: Codec,
    failing: dict[str, int],
    l2: float,
    spec: Spec,
    implied: bool,
) -> list[Finding]:
    """With a declared L2: every failing gradient, penalty included (g + l2 W), one named
    factor times PyTorch's (ascent on the whole step, another learning rate)."""
    if not l2:
        return []
    ns = tuple(s.a[0].shape[0] for s in steps)
    names = step_names(steps, spec.sizes)

    def total(s: StepData, k: str, g: Tensor) -> Tensor:
        return g + l2 * s.P[k] if k[0] == "W" else g

    fits = []
    for k in failing:
        pairs = [(total(s, k, s.g[k]), total(s, k, s.ref[k]), s.atol[k], s.rtol) for s in steps]
        f = fit(pairs, names)
        if not f.ok or f.factor in (None, "1"):
            return []
        fits.append((k, f))
    if len({(f.c, f.cs) for _, f in fits}) != 1:
        return []
    n = ns[0] if len(set(ns)) == 1 else ns
    what = f" (the whole gradient, the declared l2 = {l2:g} term included)"
    backward = all(s.loss_agrees for s in steps)
    return scale_findings(
        fits, codec, failing, n, spec.sizes[-1], span(steps), spec, implied, what, backward
    )


def span(steps: list[StepData]) -> str:
    if len(steps) == 1:
        return f" at step {steps[0].step}"
    return f" at steps {steps[0].step}-{steps[-1].step}"
