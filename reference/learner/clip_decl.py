"""A declared gradient clip (``clip_grad_value=``, ``clip_grad_norm=``) that the learner's steps
do not take: every post-step weight is the declared update of PyTorch's gradients (or the
learner's own, where it shows them) without the clip, at a step where the clip binds."""

from __future__ import annotations

from typing import Any

import numpy as np

from .result import Finding
from .torch_side import Reference


def clip_not_applied(
    history: list, ref: Reference, codec: Any, atol: float, rtol: float
) -> list[Finding]:
    """``clip_not_applied`` where ``ref`` clips and the learner's steps, from step 1, are the
    same update unclipped; [] otherwise (no clip declared, a step that shows no weights after
    it, or any step that parts from the unclipped update too)."""
    value, norm = ref.clip
    if not (value or norm) or not history or history[0][0].step != 1:
        return []
    free = Reference(ref.spec, ref.frozen, ref.l2, ref.softmax_out, ref.l2_bias)
    bare: dict[str, bool] = {}  # each parameter's steps all the unclipped update's
    clip: dict[str, bool] = {}  # ... all the declared (clipped) one's
    binds: dict[str, bool] = {}  # ... and somewhere the clip changes them
    for obs, rs, expected in history:
        if obs.after is None:
            return []
        g = obs.grads if obs.grads is not None and not obs.implied else rs.grads
        got = free.update(obs.params, g)
        for k, q in got.items():
            a, p = np.asarray(obs.after[k], np.float64), np.asarray(obs.params[k], np.float64)
            scale = max(float(np.abs(q - p).max(initial=0.0)), 1e-300)
            bare[k] = bare.get(k, True) and not np.any(
                np.abs(a - q) > atol * scale + rtol * np.abs(a)
            )
            e = None if expected is None else np.asarray(expected[k], np.float64)
            clip[k] = clip.get(k, True) and e is not None and not np.any(
                np.abs(a - e) > atol * scale + rtol * np.abs(a))  # fmt: skip
            binds[k] = binds.get(k, False) or (e is not None and not np.allclose(e, q, 0, 0))
    some = [k for k in bare if bare[k] and binds[k]]  # (review s59b F13: a clip loop that
    if not some or not all(bare[k] or clip[k] for k in bare):  # breaks after W1: the element-
        return []  # wise clip is each parameter's own; a norm clip, all of theirs at once)
    alone = any(clip[k] and not bare[k] for k in bare)  # some parameters clipped, the rest not
    if alone and not value:
        return []
    what = f"clip_grad_value={value:g}" if value else f"clip_grad_norm={norm:g}"
    names = codec.labels([k for k in history[0][0].params if k in some or not alone])
    return [
        Finding(
            "clip_not_applied",
            names,
            None,
            1,
            f"your steps are the declared update without its clip: {what} is declared, and "
            + (
                f"every step of {', '.join(names)} equals the same update of unclipped "
                "gradients, while the others are clipped (a loop over the parameters that "
                "stops after the first, a clip on some of them alone)"
                if alone
                else "every step equals the same update of unclipped gradients"
            ),
            f"clip the gradients before the update (torch.nn.utils' {what.split('=')[0]}_ does "
            f"it in place), or drop {what} from the declaration",
        )
    ]
