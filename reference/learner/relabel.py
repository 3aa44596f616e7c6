"""Targets read under another labelling: one-hot rows built from y - 1 (labels 1..K taken as
0-based, or the reverse: ``np.eye(K)[y - 1]`` on 0-based labels, MATLAB's and Ng's ex4's 1..10),
or binary targets flipped (1 - y). The learner's gradients, and its loss where it returns one,
are then PyTorch's on the relabelled targets, at the first failing step and the one after it:
``target_encoding``. Asked where the declared loss takes class labels (cross-entropy, NLL) or
0/1 targets (binary cross-entropy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .codec import canonical_key
from .other_loss import same_step
from .result import Finding
from .targets import target_kind

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference


def relabellings(y: np.ndarray, kind: str, classes: int) -> list[tuple[str, np.ndarray, str]]:
    """(what, relabelled targets, fix) for the targets ``y`` as the twin holds them."""
    if kind == "class" and classes > 2:
        return [
            ("each label shifted down by one, y - 1 (mod K)", (y - 1) % classes,
             "index the one-hot rows by the label itself, np.eye(K)[y], for labels 0..K-1 (y - 1 "
             "belongs to labels 1..K only, and then in the data you give check too)"),
            ("each label shifted up by one, y + 1 (mod K)", (y + 1) % classes,
             "index the one-hot rows by the label itself, np.eye(K)[y]: no + 1 for labels 0..K-1"),
            ("the labels reversed, K - 1 - y", classes - 1 - y,
             "index the one-hot rows by the label itself, np.eye(K)[y], not from the end"),
        ]  # fmt: skip
    binary = kind == "class" and classes == 2 or kind == "probability"
    if binary and np.isin(y, (0, 1)).all():
        return [("every target flipped, 1 - y", 1 - y,
                 "use the targets as given: y = 1 for the positive class, not 1 - y")]  # fmt: skip
    return []


def explain_relabelled(
    history: list,
    ref: Reference,
    X: np.ndarray,
    y: np.ndarray,
    codec: Codec,
    start: int,
    atol: float,
    rtol: float,
) -> list[Finding]:
    """``target_encoding`` where one relabelling of the targets takes the learner's gradients
    (and loss value, where shown) at steps ``start`` and ``start + 1``, or []."""
    spec = ref.spec
    seen = [h[0] for h in history[start - 1 : start + 1] if h[0].grads is not None]
    if not seen:
        return []
    for what, other, fix in relabellings(y, target_kind(spec), spec.sizes[-1]):
        if np.array_equal(other, y):
            continue
        if all(
            same_step(o.grads, o.loss, ref.run(o.params, X[o.rows], other[o.rows]), atol, rtol)
            for o in seen
        ):
            names = sorted(seen[0].grads, key=canonical_key)
            return [
                Finding(
                    "target_encoding",
                    codec.labels(names),
                    None,
                    start,
                    f"your gradients{' and loss' if seen[0].loss is not None else ''} are "
                    f"PyTorch's with the targets relabelled, {what}, at steps "
                    f"{seen[0].step}-{seen[-1].step}: your code reads each target as another "
                    "class than the data holds",
                    fix,
                )
            ]
    return []
