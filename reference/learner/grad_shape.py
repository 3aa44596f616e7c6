"""Shapes that do not fit: a learner gradient whose shape does not fit its parameter, a step
that changes a parameter's shape, and a gradient an update would broadcast (a note)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .diag_texts import FORM_HINT
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec, Slot


SHAPE_HINT = {
    "wrong_shape": "return one gradient per parameter, shaped like the parameter",
    "bias_reduction": FORM_HINT["bias_reduction"],
    "bias_reduction out_in": FORM_HINT["bias_reduction out_in"],
    "wrong_cached_activation": "build dW from the layer's input: dW = dZ @ A_prev.T (a_prev.T "
    "@ dz), with A_prev cached before the layer's forward pass",
    "broadcast_shape": "give both operands the same shape (y.reshape(-1, 1), or a[:, 0] - y); "
    "print the shapes where (n,) meets (n, 1)",
}


class ShapeProblem(Exception):
    """A learner gradient whose shape does not fit its parameter; ``code`` is the finding:
    ``bias_reduction`` (a bias gradient not summed over the batch, or summed over the units),
    ``broadcast_shape`` only where a vector (n,) exists (the learner's target) and the shape is
    exactly what (n,) meeting (n, 1) makes of this gradient: the parameter's shape with its
    axes of 1 turned into the batch size; else ``wrong_shape`` with the shapes (another
    cause, a per-sample gradient not summed or the wrong cache, makes other shapes too)."""

    def __init__(
        self,
        slot: Slot,
        got: tuple[int, ...],
        codec: Codec,
        batch: int = 0,
        y_vector: bool = False,
    ):
        self.slot, self.got = slot, got
        want = slot.shape
        n_out = codec.conv.sizes[slot.layer]
        msg = f"gradient of {slot.path}: expected {want}, got {got}"
        # your layout's axes: batch-major dz is (batch, units), out_in's dZ is (units, batch)
        b_ax, u_ax = (1, 0) if codec.layout == "out_in" else (0, 1)
        use = "dZ.sum(axis=1, keepdims=True)" if b_ax else "dz.sum(axis=0)"
        code = "wrong_shape"
        sq = _squeeze(got)
        n_in = codec.conv.sizes[slot.layer - 1]
        if len(want) == 2 and got == want[::-1]:
            built = (  # (review s57 C1: out_in weights beside row samples are dZ.T @ A_prev)
                "dZ @ A_prev.T with samples as columns, dZ.T @ A_prev with samples as rows"
                if codec.layout == "out_in"
                else "a_prev.T @ dz"
            )
            msg += (  # the weight's own shape says the layout: no declaration changes it
                f": transposed against its weight, stored {want}: return it in the weight's "
                f"own shape ({built})"
            )
        elif slot.role != "b" and got == (n_out, n_out) and n_in != n_out:
            code = "wrong_cached_activation"
            built = "dZ @ A.T" if codec.layout == "out_in" else "a.T @ dz"
            msg += (
                f": ({n_out}, {n_out}) is {built} with the layer's own output A in place of its "
                "input A_prev (a cache that keeps each layer's output, read one layer too late)"
            )
        elif slot.role == "b" and len(got) == 2 and n_out in got and batch in got and batch > 1:
            code = "bias_reduction"
            msg += f": the bias gradient is not summed over the batch; use {use}"
        elif slot.role == "b" and n_out > 1 and int(np.prod(got)) == 1:
            code = "bias_reduction"
            msg += (
                f": one number for the layer's {n_out} biases (np.sum(dZ) with no axis sums "
                f"over the batch and the units); use {use}"
            )
        elif slot.role == "b" and batch > 1 and sq == (batch,) and n_out != batch:
            code = "bias_reduction"
            msg += (
                f": one entry per sample ({batch}): summed over the units (axis {u_ax}) "
                f"instead of the batch (axis {b_ax}); use {use}"
            )
        elif y_vector and batch > 1 and 1 in want and got == _widened(want, batch):
            code = "broadcast_shape"
            msg += (
                f": your target y is a ({batch},) vector; a ({batch},) vector met a ({batch}, 1) "
                f"array and broadcast to ({batch}, {batch}) (out - y?) makes the parameter's "
                f"axis of 1 the batch size"
            )
        elif batch > 1 and batch in got and batch not in want:
            msg += f" (an axis of the batch size, {batch}: a gradient per sample, never summed?)"
        self.code, self.message = code, msg
        self.others: list[ShapeProblem] = []  # the other gradients of the same call that misfit
        super().__init__(msg)


def shape_crash(e: ShapeProblem, step: int, layout: str) -> Finding:
    """One finding for every gradient of the call whose shape does not fit (review s31 F7:
    Samson Zhang's np.sum(dZ) on both biases named b1 alone), led by the first one's code."""
    every = [e, *e.others]
    fixes = dict.fromkeys(SHAPE_HINT.get(f"{p.code} {layout}", SHAPE_HINT[p.code]) for p in every)
    return Finding(
        e.code,
        tuple(p.slot.path for p in every),
        e.slot.layer,
        step,
        "\n".join(p.message for p in every),
        "; ".join(fixes),
    )


def _widened(want: tuple[int, ...], batch: int) -> tuple[int, ...]:
    """``want`` with its axes of 1 at the batch size (a 1-D parameter of size 1: (batch,))."""
    return tuple(batch if d == 1 else d for d in want)


def _squeeze(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def reshaped(
    step: int,
    moved: list[tuple[Slot, tuple[int, ...]]],
    batch: int = 0,
    y_vector: bool = False,
    layout: str = "in_out",
) -> Finding:
    """The learner's step changed parameters' shapes (``moved``: slot, new shape):
    ``broadcast_shape`` when each new shape is the old one broadcast (b (n, 1) - lr * db (n,)
    makes (n, n)), else ``wrong_shape``. Where the target is a vector (``y_vector``) and every
    axis of 1 became the ``batch``'s rows, the output minus y made them (n, n) first."""
    paths = tuple(s.path for s, _ in moved)
    said = "your step changed " + ", ".join(f"{s.path}'s shape from {s.shape} to {got}"
                                            for s, got in moved)  # fmt: skip
    if not all(_broadcast(s.shape, got) for s, got in moved):
        return Finding("wrong_shape", paths, moved[0][0].layer, step, said,
                       "keep each parameter's shape: p -= lr * g with g shaped like p")  # fmt: skip
    slot, got = moved[0]
    if y_vector and batch > 1 and all(g == _widened(s.shape, batch) for s, g in moved):
        return Finding(
            "broadcast_shape",
            paths,
            slot.layer,
            step,
            f"{said}: each axis of 1 became {batch}, the rows of the batch; your target y is a "
            f"({batch},) vector, and an output of shape ({batch}, 1) minus it broadcasts to "
            f"({batch}, {batch}) (out - y), so the gradients built from it carry the batch's "
            "axis; every step after it works on the wrong array",
            "give y the output's shape before the loss (y.reshape(-1, 1)), or take out[:, 0] - y",
        )
    rows = batch > 1 and all(batch in g and batch not in s.shape for s, g in moved)
    use = "dZ.sum(axis=1, keepdims=True)" if layout == "out_in" else "dz.sum(axis=0)"
    return Finding(
        "broadcast_shape",
        paths,
        slot.layer,
        step,
        f"{said}: its update met an array of another shape and NumPy broadcast the result"
        + (
            f" (an axis of {batch}, the batch's rows: a gradient not summed over the batch)"
            if rows
            else _example(slot.shape, got)
        )
        + "; every step after it works on the wrong array",
        f"sum the gradient over the batch ({use}, one entry per unit) and give it the "
        "parameter's shape before the update"
        if rows
        else "give the gradient the parameter's shape before the update: db = dZ.sum(axis=1, "
        "keepdims=True) for a bias of shape (n, 1), or g.reshape(p.shape)",
    )


def _broadcast(want: tuple[int, ...], got: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(want, got) == got
    except ValueError:
        return False


def _example(want: tuple[int, ...], got: tuple[int, ...]) -> str:
    """How a column (n, 1) became (n, n): a gradient (n,), or (1, n), of the other
    orientation (review s19a: a (1, n) gradient was said to be (n,))."""
    if len(want) == 2 and 1 in want and len(got) == 2:
        n = max(want)
        other = (1, n) if want[1] == 1 else (n, 1)
        return f" (a {want} parameter minus a gradient of shape ({n},) or {other} is {got})"
    return ""


def shape_finding(step: int, slots: list[Slot], raw: list) -> list[Finding]:
    """A bug for a gradient of the parameter's numbers in another shape, which an update
    ``p - lr * g`` broadcasts (db (n,) for b (n, 1) makes (n, n)): compared as the same
    numbers, but the learner's own step, not given to the check, breaks the parameter (review
    s15b: a match with a note let np.sum(dZ, axis=1) without keepdims pass a class's CI)."""
    for s, g in zip(slots, raw, strict=False):
        got = np.shape(g)
        if got == s.shape or int(np.prod(got)) != int(np.prod(s.shape)):
            continue
        try:
            wide = np.broadcast_shapes(s.shape, got)
        except ValueError:
            continue
        if int(np.prod(wide)) != int(np.prod(s.shape)):  # (n,) to (1, n) keeps the numbers
            return [
                Finding(
                    "broadcast_shape",
                    (s.path,),
                    s.layer,
                    step,
                    f"your gradient of {s.path} has shape {got} where the parameter has "
                    f"{s.shape}: the same numbers, but an update p - lr * g makes {s.path} "
                    f"{wide}, and the next forward pass mixes its rows",
                    "give each gradient its parameter's shape (g.reshape(p.shape); keepdims=True "
                    "where a bias is a column (n, 1)); if your update reshapes it, give that "
                    "update as step= and the check holds the two together",
                )
            ]
    return []
