"""The ``regularization_mismatch`` finding for weight gradients that carry lambda * W where
the declaration gives l2 * W (``regularization.explain_regularization`` fits lambda): the
wording and fix for each relation of lambda to the declared l2 (or weight_decay), and never a
negative coefficient offered as a declaration."""

from __future__ import annotations

from functools import partial

from .l2_layers import same
from .result import Finding


def weights_finding(
    names: tuple[str, ...],
    step: int,
    lam: float,
    l2: float,
    wd: float,
    span: str,
    others: tuple[str, ...] = (),
    reading: tuple[str, str] | None = None,
    loss_agrees: bool = False,
    by_rows: bool = False,
    per_layer: str | None = None,
    in_update: bool = False,
    near: float = 1e-6,
) -> Finding:
    """The finding for weight gradients carrying lam * W where the declaration gives l2 * W
    (or, with no l2, where the optimizer's weight_decay=wd was probably meant); ``others``:
    the weights that agree (a term missing from these alone is a penalty on some layers);
    ``reading``: what the coefficient's ratio to l2 says (``_readings``), evidence and fix;
    ``near``: how near lambda, read off gradients of the learner's precision, is a relation's
    value (1e-6 of the scale in float64; a float32 fit of l2 - l2 reads -7e-7 beside 1e-3:
    review s42b F1, a missing term called a penalty of the wrong sign)."""
    _same = partial(same, near=near)
    ev = f"your weight gradients are PyTorch's plus {lam - l2:.6g} W{span}: "
    ref, via_wd = (l2, False) if l2 else (wd, True)
    scale = max(abs(lam), abs(ref))
    name = "weight_decay" if via_wd else "l2"
    own_loss = loss_agrees and bool(ref) and not via_wd and not _same(lam, ref, scale)
    moved = (
        f"; weight_decay={wd:g} is applied by the optimizer in the update (to every parameter), "
        "never to the gradient"
        if via_wd
        else ""
    )
    if by_rows and reading and not via_wd:  # all rows at once agreed: the rows' reading alone
        ev += f"your L2 coefficient is {lam:.6g}, the declared {name} is {ref:g}: {reading[0]}"
        hint = reading[1]
    elif lam < 0 and not (_same(lam, -ref, scale) or _same(lam, 0.0, scale)):  # never declared
        ev += (
            f"a term {lam:.6g} W in your gradients: the gradient of an L2 penalty of the wrong "
            "sign, which pushes the weights away from 0"
            + (f" (the declared {name} is {ref:g}{moved})" if ref else "")
        )
        hint = "a penalty's gradient is + lambda * W: flip the sign of the term, or remove it"
    elif not ref:
        ev += f"an L2 penalty ({lam:.6g}/2 sum W^2 in the loss) that is not declared"
        hint = f"declare {per_layer or f'l2={lam:.6g}'} if the penalty is meant, or remove it"
        if per_layer:
            ev += " (on these layers alone)"
            hint = f"declare {per_layer} (one per layer) if the penalty is meant, or remove it"
    elif _same(lam, ref, scale):  # only with weight_decay: the same coefficient, in the gradient
        ev += f"the gradient of an L2 penalty in your loss, {lam:g} W{moved}"
        hint = f"declare l2={lam:g} (L2 in the loss, weights only) instead of weight_decay"
    elif _same(lam, 0.0, scale):
        ev += f"the declared L2 term l2 * W (l2 = {l2:g}) is missing from your gradients"
        hint = (
            "add l2 * W to each weight gradient (and l2/2 * sum W^2 to the loss); if your update "
            "applies the penalty instead (w *= 1 - lr * l2, Nielsen's network2), declare "
            "l2_in='update'"
        )
        if in_update:  # declared already: the update's decay is what is missing
            hint = (
                "your update leaves out the declared decay (l2_in='update'): step with "
                "w = (1 - lr * l2) * w - lr * g (network2's (1 - eta * lmbda / n) * w)"
            )
        if others and not via_wd and loss_agrees:  # the loss value penalises every layer
            hint = (
                f"your loss value takes the L2 penalty on every layer (it is PyTorch's with "
                f"l2 = {l2:g}), and your {', '.join(others)} take its term, but these gradients "
                "do not: add l2 * W to them"
            )
        elif others and not via_wd:  # some layers regularised, these not
            hint = (
                f"your {', '.join(others)} take the L2 term and these do not: for a penalty on "
                f"some layers only (nnfs's per-layer weight_regularizer_l2), declare {per_layer} "
                "(one per layer); else add l2 * W to these gradients too"
            )
    elif _same(lam, 2 * ref, scale):
        ev += (
            f"your L2 term is 2 lambda W = {lam:g} W where {name} = {ref:g} gives lambda W "
            f"(the gradient of lambda/2 sum W^2){moved}"
        )
        said_too = reading is not None and not via_wd  # lr = 0.5: the decay without lr
        ev += f"; or {reading[0]}" if said_too else ""  # takes the same steps
        hint = (
            ""
            if others or own_loss
            else f"if your loss has lambda * sum W^2 (nnfs's weight_regularizer_l2 = lambda), "
            f"its gradient 2 lambda W is right: declare {per_layer or f'l2={lam:g}'}; if it has "
            "lambda/2 * sum W^2, "
        ) + (
            "the gradient of lambda/2 * sum W^2 is lambda * W: drop the 2"
            + (f"; declare l2={ref:g} instead of weight_decay" if via_wd else "")
            + (f"; or, for the decay: {reading[1]}" if said_too else "")
        )
    elif _same(lam, -ref, scale):
        ev += f"your L2 term has the wrong sign: -{ref:g} W where {name} = {ref:g} gives +{ref:g} W"
        hint = "add + lambda * W: the penalty pulls the weights towards 0" + (
            f"; declare l2={ref:g} instead of weight_decay" if via_wd else ""
        )
    elif _same(2 * lam, ref, scale) and not via_wd and not others:
        ev += (
            f"your L2 term is {lam:g} W, half the declared l2 = {ref:g}: the gradient of a "
            f"penalty lambda sum W^2 (lambda = {lam:g}) is 2 lambda W, the 2 dropped"
        )
        hint = "the gradient of lambda * sum W^2 is 2 * lambda * W: put the 2 back" + (
            ""
            if own_loss
            else f" (or declare {per_layer or f'l2={lam:g}'} if your loss has lambda/2 * sum W^2)"
        )
    elif reading and not via_wd:
        ev += f"your L2 coefficient is {lam:.6g}, the declared {name} is {ref:g}: {reading[0]}"
        hint = reading[1]
    elif own_loss:
        ev += f"your L2 coefficient is {lam:.6g}, the declared {name} is {ref:g}"
        hint = "use the declared coefficient in your gradients"
    else:
        ev += f"your L2 coefficient is {lam:.6g}, the declared {name} is {ref:g}{moved}"
        hint = (
            f"use the declared coefficient, which {', '.join(others)} already "
            f"{'takes' if len(others) == 1 else 'take'}, or declare {per_layer} (one per layer)"
            if others and per_layer
            else f"use the declared coefficient, or declare l2={lam:.6g}"
        )
    if own_loss:  # the loss takes the declared penalty: the gradient is what is off
        ev += (
            f"; the loss value you return is PyTorch's, whose penalty is the declared "
            f"{ref:g}/2 sum W^2: your loss takes it, your gradients do not"
        )
        hint += f"; your own loss's penalty has the gradient {ref:g} W"
    return Finding("regularization_mismatch", names, None, step, ev, hint)
