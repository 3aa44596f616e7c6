"""What a check can and cannot see of the learner's code, said as findings: what a match cannot
vouch for (the update when none was given; a constant gradient factor behind an Adam-family
step), a step after which no named weight changed, and parameters that are one array."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .adapters import Adapter
    from .codec import Codec

OWN_BATCHES = (  # said where a step's state or draws differ between two runs
    "; a step that takes its own mini-batches from the rows it is handed (a shuffle or a "
    "batch counter inside it) is handed one batch per step with batch_size= declared, and "
    "must then use all of it"
)


def aliased_finding(pair: tuple[str, str]) -> Finding:
    """``aliased_parameters`` for two of the learner's parameters sharing memory."""
    return Finding(
        "aliased_parameters",
        pair,
        None,
        1,
        f"{pair[0]} and {pair[1]} are one array (they share memory): a step on either moves "
        "both, and PyTorch's twin has two",
        "give each parameter its own array: [rng.randn(m, n) for _ in range(k)] instead of "
        "[W] * k, and b = a.copy() instead of b = a",
        "hygiene",
    )


def partly_unmoved(step: int, names: tuple[str, ...]) -> Finding:
    """``step_did_not_update`` for some parameters: the learner's step left them as they were
    while it moved the others."""
    return Finding(
        "step_did_not_update",
        names,
        None,
        step,
        f"your step at step {step} left {', '.join(names)} exactly as they were and moved the "
        "other parameters, where the declared optimizer moves every one: the update's loop "
        "skips them (range(1, L) for layers 1..L, a list missing an entry) or updates a copy",
        f"update every parameter in your step, {', '.join(names)} included",
    )


def dtype_finding(step: int, paths: list[str], was: str, now: str, inputs: str = "") -> Finding:
    """``dtype_changed``: the learner's step turned its parameters from ``was`` into ``now``;
    ``inputs``: what it was handed, where all of it (the data, any gradients shown) is ``was``,
    so the wider dtype came from a number of the update itself (review s36 7c)."""
    why = (
        f"your {inputs} are {was}, so the {now} comes from a number in the update itself: an "
        f"np.{now} learning rate (read from an array, or np.{now}(...)) or a {now} array; a "
        f"Python float keeps {was}"
        if inputs
        else f"{now} data or gradients make g {now}"
    )
    fix = "make the learning rate a Python float (lr = float(lr))" if inputs else (
        f"give {was} data and gradients"
    )  # fmt: skip
    return Finding(
        "dtype_changed",
        tuple(paths),
        None,
        step,
        f"your step at step {step} turned {', '.join(paths)} from {was} into {now}: an update "
        f"that rebinds (W = W - lr * g) takes the dtype of g, and {why}; from then on your "
        f"network computes in {now}: its numbers still agree with PyTorch's, at {now}'s "
        "memory and time",
        f"keep the weights {was}: update in place (W -= lr * g), or {fix}",
        "note",
    )


def unmoved(step: int, adapter: Adapter) -> Finding:
    """``step_did_not_update``: no named weight changed in the learner's step at ``step``."""
    return Finding(
        "step_did_not_update",
        (),
        None,
        step,
        f"none of your parameters changed in your step at step {step}, where the declared "
        "optimizer moves them: the step updated other arrays than the ones named (a new "
        "dict or list bound to the name, self.W = ... on another object, a copy), took no "
        "step yet (momentum applied one step late), or stepped by zero (an lr of 0, as "
        "1 // 20 makes, or gradients that are all zero)",
        "update the named arrays in place (W -= lr * dW, or W[...] = ...), or name in the "
        f"adapter the object your step updates ({', '.join(adapter.paths[:3])}, ...): a "
        "module-level dict your step rebinds (parameters = update_parameters(...)) is read "
        "fresh as from_step(sys.modules[__name__], [\"parameters['W1']\", ...]); check the lr "
        "your step uses is the declared one",
    )


def update_not_compared(why: str, covers: str, opt: str, hint: str) -> Finding:
    """The note that the learner's own update was not run: the declared ``opt`` moved its
    weights from its gradients."""
    return Finding(
        "update_not_compared",
        (),
        None,
        None,
        f"your update{why}: the match covers {covers}; each step moved your weights by the "
        f"declared {opt} from your gradients, not by your own update",
        hint,
        "note",
    )


SCALE_FREE = ("adam", "adamw", "rmsprop", "adagrad")  # steps the same for c g (c > 0), up to eps


LOOP_NOT_RUN = Finding(
    "loop_not_run",
    (),
    None,
    None,
    "your training loop: the check hands each step its own batch (rows of X with their own "
    "y), so how your loop batches, shuffles and repeats the data (fit, the epochs) is not "
    "run; X and y shuffled with two permutations, a last batch dropped or one batch reused "
    "would not show",
    "print one batch of your loop beside the data it came from (each row of X must keep its "
    "own y), or drive your steps from a loop over the batches you give check (batch_size=)",
    "note",
)


def unseen(adapter: Adapter, spec: Spec, history: list | tuple = ()) -> list[Finding]:
    """What a match cannot vouch for, as notes: the learner's own training loop (never run),
    the update when no step was given (the declared optimizer moved the weights from your
    gradients), and under an optimizer whose step is the same for c g as for g (c > 0), a
    gradient off by such a factor when the step hides the gradients. ``history``: the run's
    steps, for what the match covers (a forward output or a loss shown at some step)."""
    shown = [what for what, seen in (
        ("forward pass", any(o.out is not None for o, *_ in history)),
        ("loss", any(o.loss is not None for o, *_ in history)),
    ) if seen] if history else ["forward pass", "loss"]  # fmt: skip
    return [*_unseen(adapter, spec, ", ".join([*shown, ""]) + "gradients"), LOOP_NOT_RUN]


def _unseen(adapter: Adapter, spec: Spec, covers: str) -> list[Finding]:
    opt = spec.opt
    if adapter.style in ("gradients", "layers", "loss") and adapter.step is None:
        return [
            update_not_compared(
                " (no step= given)",
                "your " + covers.replace(", gradients", " and gradients"),
                opt.name,
                "pass step=<your update function> (e.g. lambda X, y: "
                "net.update_mini_batch(...)) to hold your post-step weights to it too",
            )
        ]
    if adapter.step is not None and any(adapter.conventions.clip):  # (review s24d F1: a step=
        return [  # beside exposed gradients computes its own, as hidden as from_step's)
            Finding(
                "gradient_scale_unseen",
                (),
                None,
                None,
                "a gradient off by a factor inside your step where the declared clip binds: "
                "there your step takes the clip's bound, not the gradient's size (under "
                "clip_grad_norm, every gradient once their norm exceeds it), and what your step "
                "clips are the gradients it computes itself",
                "have your step use the gradients you expose (from_gradients, from_layers or "
                "from_loss, with step=), which are held to PyTorch's",
                "note",
            )
        ]
    coupled = opt.name != "adamw" and opt.kwargs.get("weight_decay")  # wd p joins g: seen
    if adapter.style == "step" and opt.name in SCALE_FREE and not coupled:
        return [
            Finding(
                "gradient_scale_unseen",
                (),
                None,
                None,
                f"a gradient off by a constant positive factor (a missing 1/N, a doubled dW): "
                f"{opt.name} takes the same step for c g as for g (any c > 0) but for eps, and "
                "your step hides its gradients: such a factor shows only where eps matters",
                "expose your gradients (from_gradients, from_layers or from_loss, with step=) "
                "to check them as well",
                "note",
            )
        ]
    return []


def stuck_explains(stuck: tuple[int, tuple[str, ...]], bad: list, codec: Codec) -> bool:
    """Whether the parameters the learner's step left unmoved are exactly the updates that
    first part from PyTorch's (the gradients agreeing there)."""
    step, names = stuck
    first = min(r.step for r in bad)
    at = {r.tensor for r in bad if r.step == first}
    outputs = any(r.stage in ("forward", "loss") for r in bad if r.step == first)
    moved = {n for n in names if n not in codec.frozen}
    # a gradient implied from an unmoved parameter (from_step) is 0: it parts there alone
    grads = {r.tensor for r in bad if r.step == first and r.stage == "grad"}
    return step == first and not outputs and at == moved and grads <= moved


def undetermined_note(steps: dict[str, int], labels: dict[str, str]) -> tuple[Finding, ...]:
    """The note, if any, that some gradients were within round-off of a kink at most of their
    elements (a batchnorm over equal values ahead of a ReLU): no program's values are
    determined there. ``steps``: each gradient's first such step; ``labels``: the learner's
    names."""
    if not steps:
        return ()
    names = [labels.get(n, n) for n in steps]
    first = min(steps.values())
    return (
        Finding(
            "kink_undetermined",
            tuple(names),
            None,
            first,
            f"the gradients of {', '.join(names)} (from step {first}): your batch puts their "
            "activations on a kink to within round-off (a batchnorm channel whose values are "
            "all equal normalises to 0 up to rounding, and which side of ReLU's corner each "
            "lands on is the rounding's), so any program's values there are as good as PyTorch's",
            "check with a batch whose rows differ at every unit",
            "note",
        ),
    )


def framework_note(mods: list[str]) -> Finding:
    """The note that the learner's file imported a framework with automatic differentiation
    (seen in its own process, where nnparity imports none): a network computed by it matches
    without a hand-written backward pass being checked (review s51 F12)."""
    said = ", ".join(mods)
    return Finding(
        "framework_imported",
        (),
        None,
        None,
        f"what your gradients are computed with: your program imported {said}, so a match "
        "may hold gradients its automatic differentiation computed, not your own backward "
        "pass (the check compares values, not how they were made)",
        f"for a from-scratch check, compute the network with NumPy alone (no {said} import)",
        "note",
    )
